"""Internal links: ``[[slug]]``, ``[[slug|text]]``, ``[[slug#anchor|text]]`` and
``[[kind:slug|text]]``, found in a text, resolved through the link kinds the apps register (see
:func:`register_link_kind`) and rendered, a link to nothing visibly broken."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import dataclass

import markdown
from markdown.inlinepatterns import InlineProcessor

Resolver = Callable[[set[str]], dict[str, tuple[str, str]]]
"""Takes slugs, returns ``{slug: (url, title)}`` for the slugs that exist."""

_LINK_KINDS: dict[str, Resolver] = {}


def register_link_kind(prefix: str, resolver: Resolver) -> None:
    """Let ``[[prefix:slug]]`` resolve through ``resolver`` (prefix ``""`` is ``[[slug]]``)."""
    _LINK_KINDS[prefix] = resolver


@dataclass(frozen=True)
class Link:
    kind: str
    slug: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.slug}" if self.kind else self.slug


# Every part has a bounded length and none can run into the next, so a match attempt costs at most
# a few hundred steps wherever it starts (`"[[a|" * 10000` took minutes with `[^\]]+`).
WIKI_LINK_RE = (
    r"\[\[(?:(?P<kind>[a-z]{1,20}):)?(?P<slug>[a-z0-9][a-z0-9-]{0,79})"
    r"(?:#(?P<anchor>[A-Za-z0-9_-]{1,80}))?(?:\\?\|(?P<text>[^\[\]\n]{1,200}))?\]\]"
)


def find_links(text: str) -> set[Link]:
    """Every internal link written in ``text``, without resolving it."""
    return {Link(m.group("kind") or "", m.group("slug")) for m in re.finditer(WIKI_LINK_RE, text)}


def resolve_links(links: set[Link]) -> dict[Link, tuple[str, str]]:
    """Resolve links with one query per link kind."""
    resolved: dict[Link, tuple[str, str]] = {}
    by_kind: dict[str, set[str]] = {}
    for link in links:
        by_kind.setdefault(link.kind, set()).add(link.slug)
    for kind, slugs in by_kind.items():
        resolver = _LINK_KINDS.get(kind)
        if resolver is None:
            continue
        for slug, target in resolver(slugs).items():
            resolved[Link(kind, slug)] = target
    return resolved


class WikiLinkProcessor(InlineProcessor):
    def __init__(self, pattern: str, md: markdown.Markdown, targets: dict[Link, tuple[str, str]]):
        super().__init__(pattern, md)
        self.targets = targets

    def handleMatch(self, m, data):
        link = Link(m.group("kind") or "", m.group("slug"))
        target = self.targets.get(link)
        el = etree.Element("a")
        if target is None:
            el.set("class", "broken-link")
            el.set("title", f"No page called “{link}” yet")
            el.text = m.group("text") or link.slug
            return el, m.start(0), m.end(0)
        url, title = target
        anchor = m.group("anchor")
        el.set("href", f"{url}#{anchor}" if anchor else url)
        el.set("class", "internal-link")
        el.text = m.group("text") or title
        return el, m.start(0), m.end(0)
