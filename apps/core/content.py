"""Content kept in ``fixtures/`` as Markdown files with a YAML header, and its sync with the DB.

Each app that keeps pages in files registers a :class:`ContentKind` that says how a file's data
maps onto its model. ``load_content`` and ``dump_content`` work through every registered kind.

The rule that protects editors: loading never overwrites a page that was edited in the admin
since it was last loaded or dumped, unless forced. A page's fingerprint at load time is stored
on the row; an admin edit changes the content but not the stored fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal

from apps.core import markdown
from apps.core.forms import validate_references
from apps.core.models import MarkdownPage, Stamp, bulk_loading, fingerprint

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"

# Sent with the LoadReport once a load has committed (every deploy runs one): apps that keep
# something checked against the code or the content catch up then (designdocs: its answers).
loaded = Signal()


class ContentFileError(ValueError):
    pass


def read_file(path: Path) -> dict[str, Any]:
    """Parse ``---`` YAML front matter and the Markdown body of one content file."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ContentFileError(f"{path}: must start with a '---' front-matter line")
    try:
        _, header, body = text.split("---\n", 2)
        meta = yaml.safe_load(header) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ContentFileError(f"{path}: front matter does not parse: {exc}") from None
    if not isinstance(meta, dict):
        raise ContentFileError(f"{path}: front matter must be a mapping")
    meta["slug"] = path.stem
    meta["body"] = body.strip() + "\n"
    return meta


def write_file(path: Path, data: dict[str, Any]) -> None:
    meta = {key: value for key, value in data.items() if key not in {"slug", "body"}}
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(f"---\n{header}---\n{data['body'].strip()}\n", encoding="utf-8")


class ContentKind:
    """How one kind of page travels between ``fixtures/<directory>/`` and the database."""

    directory: str
    model: type[MarkdownPage]

    def to_data(self, page: MarkdownPage) -> dict[str, Any]:
        raise NotImplementedError

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        """The file's data in the same shape :meth:`to_data` produces."""
        raise NotImplementedError

    def save(self, page: MarkdownPage | None, data: dict[str, Any]) -> MarkdownPage:
        """Create or update the page's own fields from normalised data."""
        raise NotImplementedError

    def link(self, page: MarkdownPage, data: dict[str, Any]) -> None:
        """Set relations to other pages; runs once every page of every kind exists."""

    def pages(self):
        return self.model.objects.all()

    def prepare(self) -> None:
        """Create what the pages depend on (e.g. the levels they belong to)."""


def references_from_file(data: dict[str, Any]) -> list[dict[str, str]]:
    """The ``references`` list of a file, validated like the admin validates it."""
    references = [
        {"title": str(ref.get("title", "")).strip(), "url": str(ref.get("url", "")).strip()}
        for ref in data.get("references") or []
    ]
    try:
        return validate_references(references)
    except ValidationError as exc:
        raise ContentFileError(f"{data['slug']}: {exc.messages[0]}") from None


KINDS: list[ContentKind] = []


def register(kind: ContentKind) -> None:
    KINDS.append(kind)


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_admin_edits: list[str] = field(default_factory=list)
    broken_links: dict[str, list[str]] = field(default_factory=dict)
    #: The code or a library that renders Markdown changed since the stored HTML was made.
    renderer_changed: bool = False


def load(root: Path = FIXTURES_DIR, force: bool = False) -> LoadReport:
    """Load every registered kind's files. Idempotent; admin edits win unless ``force``."""
    report = LoadReport()
    with transaction.atomic():
        with bulk_loading():
            saved = []
            for kind in KINDS:
                kind.prepare()
            for kind in KINDS:
                saved += _load_kind(kind, root / kind.directory, force, report)
            for kind, page, data in saved:
                kind.link(page, data)
                kind.model.objects.filter(pk=page.pk).update(
                    loaded_hash=fingerprint(kind.to_data(page))
                )
        # Pages loaded early may link to pages (and glossary terms) loaded later: when anything
        # changed, render every page again so links and glossary links are complete. A new
        # renderer (a fix deployed, a library upgraded) renders every page again too.
        renderer = markdown.fingerprint()
        report.renderer_changed = Stamp.read("renderer") != renderer
        _rerender(report, bool(report.created or report.updated or report.renderer_changed))
        Stamp.write("renderer", renderer)
    loaded.send(sender=load, report=report)
    return report


def _rerender(report: LoadReport, everything: bool) -> None:
    with markdown.frozen_glossary():
        for kind in KINDS:
            if not issubclass(kind.model, MarkdownPage):
                continue
            pages = kind.model.objects.all() if everything else kind.pages()
            if not everything:
                pages = pages.exclude(broken_links=[])
            for page in pages:
                page.rerender()
                if page.broken_links:
                    report.broken_links[f"{kind.directory}/{page.slug}"] = page.broken_links


def _load_kind(kind: ContentKind, folder: Path, force: bool, report: LoadReport) -> list:
    saved = []
    existing = {page.slug: page for page in kind.pages()}
    for path in sorted(folder.glob("*.md")):
        data = kind.normalise(read_file(path))
        label = f"{kind.directory}/{data['slug']}"
        page = existing.get(data["slug"])
        if page is None:
            page = kind.save(None, data)
            report.created.append(label)
        else:
            current = fingerprint(kind.to_data(page))
            if current == fingerprint(data):
                report.unchanged.append(label)
                if page.loaded_hash != current:
                    kind.model.objects.filter(pk=page.pk).update(loaded_hash=current)
                continue
            if page.loaded_hash and current != page.loaded_hash and not force:
                report.kept_admin_edits.append(label)
                continue
            page = kind.save(page, data)
            report.updated.append(label)
        saved.append((kind, page, data))
    return saved


def dump(root: Path = FIXTURES_DIR) -> list[Path]:
    """Write every page back to its file; the files then match the database."""
    written = []
    for kind in KINDS:
        folder = root / kind.directory
        folder.mkdir(parents=True, exist_ok=True)
        for page in kind.pages():
            data = kind.to_data(page)
            path = folder / f"{page.slug}.md"
            write_file(path, data)
            kind.model.objects.filter(pk=page.pk).update(loaded_hash=fingerprint(data))
            written.append(path)
    return written
