"""Glossary links: the first mention of each known term links to its page.

The apps register where the terms come from (:func:`register_glossary`); :class:`GlossaryLinker`
links them in a rendered tree, as far as the reviewed rules of :mod:`apps.core.glossary` allow.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.core.cache import cache
from markdown.treeprocessors import Treeprocessor

from apps.core import caching, glossary

GlossaryProvider = Callable[[], list[tuple[str, str]]]
"""Returns ``(term, url)`` pairs: a page's title or alias and where it points."""

_GLOSSARY: list[GlossaryProvider] = []

SKIP_TAGS = {"a", "code", "pre", "kbd", "h1", "h2", "h3", "h4", "h5", "h6", "math"}


def register_glossary(provider: GlossaryProvider) -> None:
    _GLOSSARY.append(provider)


def worth_linking(term: str) -> bool:
    """Multi-word terms, acronyms and names are specific enough to link on sight; a short
    lower-case word ("index", "return", "power") is too common in ordinary prose."""
    term = term.strip()
    if len(term) < 2:
        return False
    if " " in term or any(c.isdigit() for c in term) or term[0].isupper():
        return True
    if any(c.isupper() for c in term[1:]):  # "mAP", "nDCG": abbreviations, matched as written
        return True
    return len(term) >= 7


_frozen_glossary: ContextVar[list[tuple[str, str]] | None] = ContextVar("glossary", default=None)


@contextmanager
def frozen_glossary():
    """Within the block, every render uses the glossary as it is now (for bulk re-renders)."""
    token = _frozen_glossary.set(glossary_terms())
    try:
        yield
    finally:
        _frozen_glossary.reset(token)


def glossary_terms() -> list[tuple[str, str]]:
    """Every linkable term once (the first provider wins), longest first.

    Kept in the cache under the content version, so a render (an autosave, say) costs no
    query unless a page changed since the last one.
    """
    frozen = _frozen_glossary.get()
    if frozen is not None:
        return frozen
    version = caching.content_version()
    if _process_glossary and _process_glossary[0] == version:
        return _process_glossary[1]
    key = f"glossary:{version}"
    terms = cache.get(key)
    if terms is None:
        terms = _collect_glossary()
        cache.set(key, terms, caching.TIMEOUT)
    # Each worker keeps the current version's terms too: no unpickling on every render.
    _process_glossary[:] = [version, terms]
    return terms


_process_glossary: list = []


def _collect_glossary() -> list[tuple[str, str]]:
    terms: dict[str, tuple[str, str]] = {}
    for provider in _GLOSSARY:
        for term, url in provider():
            if worth_linking(term):
                terms.setdefault(term.strip().lower(), (term.strip(), url))
    return sorted(terms.values(), key=lambda item: -len(item[0]))


@lru_cache(maxsize=8)
def _term_pattern(terms: tuple[tuple[str, str], ...]) -> tuple[re.Pattern | None, dict]:
    """The compiled alternation of all terms and the term → URL map, built once per glossary.

    Terms are grouped by their first letter, each group behind a one-character lookahead, so a
    position costs a few tests instead of one per term (800 terms made 100 KB of prose 0.6 s).
    Within a group the longest term still comes first.
    """
    urls = {term.lower(): url for term, url in terms}
    if not terms:
        return None, urls
    groups: dict[str, list[str]] = {}
    for term, _ in terms:
        # Abbreviations match only as written, whole words: "ELU" does not link an "elu", "AP"
        # not an "ap", "IoU" or "mAP" not the word "map".
        acronym = (term.upper() == term and len(term) <= 5) or (
            " " not in term and any(c.isupper() for c in term[1:])
        )
        groups.setdefault(term[0].lower(), []).append(
            f"(?-i:{re.escape(term)})" if acronym else re.escape(term)
        )
    initials = "".join(re.escape(c) for c in sorted({*groups, *(c.upper() for c in groups)}))
    branches = [
        f"(?=[{re.escape(initial)}{re.escape(initial.upper())}])(?:{'|'.join(parts)})"
        for initial, parts in groups.items()
    ]
    pattern = re.compile(
        rf"(?<![\w-])(?=[{initials}])(" + "|".join(branches) + r")(?![\w-])", re.IGNORECASE
    )
    return pattern, urls


# Patterns by the identity of the glossary list: glossary_terms() hands every render the same
# list until the content changes, and looking that list up by value in _term_pattern's cache
# walks all its terms (some 9,000 at scale: milliseconds a render once they have left the CPU's
# caches). Each entry keeps its list, so its id is never reused while it is here.
_patterns_by_list: dict[int, tuple[list, re.Pattern | None, dict]] = {}


def _pattern_of(terms: list[tuple[str, str]]) -> tuple[re.Pattern | None, dict]:
    if not terms:
        return None, {}
    found = _patterns_by_list.get(id(terms))
    if found is None or found[0] is not terms:
        found = (terms, *_term_pattern(tuple(terms)))
        if len(_patterns_by_list) >= 8:
            _patterns_by_list.clear()
        _patterns_by_list[id(terms)] = found
    return found[1], found[2]


class GlossaryLinker(Treeprocessor):
    """Link the first mention of each known term to its page, outside code, headings, maths
    and existing links, and never to the page being rendered."""

    def __init__(self, md, terms: list[tuple[str, str]], self_url: str):
        super().__init__(md)
        self.pattern, self.urls = _pattern_of(terms)
        self.self_url = self_url
        self.linked: set[str] = set()

    def run(self, root):
        if self.pattern is not None:
            self._walk(root)

    def _target(self, match: re.Match) -> str | None:
        term = match.group(0).lower()
        url = self.urls.get(term)
        if not url or url.split("#")[0] == self.self_url or url in self.linked:
            return None
        # Ambiguous terms link only where the reviewed rules say their sense applies.
        if not glossary.rules().allows(term, self.self_url):
            return None
        return url

    def _link(self, text: str) -> tuple[str, list[etree.Element]]:
        """Split ``text`` into leading text and link elements (each with its tail)."""
        head, links, position = None, [], 0
        for match in self.pattern.finditer(text):
            url = self._target(match)
            if url is None:
                continue
            self.linked.add(url)
            before = text[position : match.start()]
            if head is None:
                head = before
            else:
                links[-1].tail = before
            link = etree.Element("a", {"href": url, "class": "glossary-link"})
            link.text = match.group(0)
            links.append(link)
            position = match.end()
        if head is None:
            return text, []
        links[-1].tail = text[position:]
        return head, links

    def _walk(self, element: etree.Element) -> None:
        if element.tag in SKIP_TAGS or "math-display" in (element.get("class") or ""):
            return
        # Stashed maths and code are placeholders in the text; no term can match inside one.
        children = list(element)
        if element.text:
            element.text, links = self._link(element.text)
        else:
            links = []
        for child in children:
            self._walk(child)
            links.append(child)
            if child.tail:
                child.tail, tail_links = self._link(child.tail)
                links.extend(tail_links)
        # One rebuild of the children: inserting each link where it goes made a paragraph of
        # 25,000 line breaks quadratic.
        element[:] = links
