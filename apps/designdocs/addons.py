"""What apps above design docs add to a doc's page and to its export.

Apps depend downward only, so design docs cannot import the comments that ``apps.reviews``
keeps. Reviews registers two hooks here in its ``AppConfig.ready()`` instead: one that adds to
the document page's context (the page includes ``review.template`` after each answer, and once
for the doc as a whole, when a hook set ``review``), and one that adds Markdown per prompt to an
export the owner asks for. Without reviews installed, pages and exports are as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from apps.designdocs.access import Role
from apps.designdocs.models import Answer, DesignDoc

# (request, doc, reader's role, the doc's answers by prompt key) -> extra context
PageHook = Callable[[HttpRequest, DesignDoc, Role, dict[str, Answer]], dict]
# doc -> Markdown lines per prompt key ("" for the doc as a whole)
ExportHook = Callable[[DesignDoc], dict[str, list[str]]]


@dataclass(frozen=True)
class ExportPart:
    name: str  # the value of ``?include=`` that asks for it
    label: str  # what the doc page's link says, e.g. "with open comments"
    lines: ExportHook


_page_hooks: list[PageHook] = []
_export_parts: dict[str, ExportPart] = {}


def add_page_hook(hook: PageHook) -> None:
    if hook not in _page_hooks:
        _page_hooks.append(hook)


def add_export_part(part: ExportPart) -> None:
    _export_parts[part.name] = part


def page_context(
    request: HttpRequest, doc: DesignDoc, role: Role, answers: dict[str, Answer]
) -> dict:
    context: dict = {}
    for hook in _page_hooks:
        context |= hook(request, doc, role, answers)
    return context


def export_parts() -> list[ExportPart]:
    return list(_export_parts.values())


def export_lines(name: str, doc: DesignDoc) -> dict[str, list[str]] | None:
    """The named part's Markdown per prompt key, or None when no app offers that part."""
    part = _export_parts.get(name)
    return part.lines(doc) if part else None
