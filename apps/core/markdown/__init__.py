"""The one Markdown pipeline of the site: Markdown → HTML → sanitised HTML.

Every app renders stored Markdown once, when the content is saved; pages then serve the stored
HTML. Content goes through :func:`render`; what users write (design-doc answers) through
:func:`render_user_text`, which bounds the work (see its docstring). The pipeline adds to
Python-Markdown and pymdown:

* maths: ``$…$`` inline and ``$$…$$`` display, converted to MathML on the server;
* internal links: ``[[slug]]``, ``[[slug|text]]``, ``[[slug#anchor|text]]`` and
  ``[[kind:slug|text]]``, resolved through the link kinds registered by the apps (see
  :func:`register_link_kind`); a link to nothing is rendered visibly broken and reported;
* linear time: every pattern's work grows with the text, not its square, including
  Python-Markdown's link, footnote and table processors (:class:`LinearTimeExtension`);
* a strict sanitiser (nh3) with an explicit allowlist, so no script, event handler, ``style``,
  ``javascript:``/``data:`` URL, iframe or form survives, whoever wrote the Markdown.
"""

from __future__ import annotations

import html
import re
import time
import xml.etree.ElementTree as etree
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

import latex2mathml.converter
import markdown
import nh3
from django.core.cache import cache
from django.utils.html import escape, linebreaks
from markdown import inlinepatterns
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListTreeprocessor, get_attrs_and_remainder
from markdown.extensions.footnotes import FootnoteBlockProcessor, FootnoteInlineProcessor
from markdown.extensions.tables import TableProcessor
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from pymdownx.highlight import Highlight, HighlightExtension

from apps.core import caching, glossary

# --- Internal links ----------------------------------------------------------------------------

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


# --- Links in linear time ----------------------------------------------------------------------
#
# Python-Markdown finds where `[text](url "title")` ends by scanning forward from each `[`, and
# from the `(` after it, up to the end of the paragraph when nothing closes them: a 12 KB answer
# of `[` took 30 s (three processors, 72 million steps each). The processors below give the same
# answers from one index of the paragraph's brackets, parentheses and quotes.

_LINK_SYNTAX_RE = re.compile(r"[\[\]()'\"]")
_OTHER_QUOTE = {'"': "'", "'": '"'}


class _LinkSyntax:
    """Where each bracket and parenthesis of one text closes, and where its quotes are.

    Built in one pass; an answer about position ``p`` depends only on ``text[p:]``, so the index
    still serves after a link processor replaces an earlier part of the text by a placeholder.
    """

    def __init__(self, text: str):
        self.text = text
        self.closing: dict[int, int] = {}  # position of "[" or "(" → position of its "]" or ")"
        self.parens: list[int] = []  # positions of "(" and ")", in order
        self.net: list[int] = [0]  # net[i]: "(" minus ")" among parens[:i]
        self.quotes: dict[str, list[int]] = {'"': [], "'": []}
        # A ")" whose previous character other than a space is a quote: quote and ")" positions.
        self.quote_before: dict[str, list[int]] = {'"': [], "'": []}
        self.close_after_quote: dict[str, list[int]] = {'"': [], "'": []}
        open_brackets: list[int] = []
        open_parens: list[int] = []
        for match in _LINK_SYNTAX_RE.finditer(text):
            position, char = match.start(), match.group()
            if char == "[":
                open_brackets.append(position)
            elif char == "]":
                if open_brackets:
                    self.closing[open_brackets.pop()] = position
            elif char in "'\"":
                self.quotes[char].append(position)
            else:
                self.parens.append(position)
                self.net.append(self.net[-1] + (1 if char == "(" else -1))
                if char == "(":
                    open_parens.append(position)
                    continue
                if open_parens:
                    self.closing[open_parens.pop()] = position
                before = position - 1
                while before >= 0 and text[before] == " ":
                    before -= 1
                if before >= 0 and text[before] in "'\"":
                    self.quote_before[text[before]].append(before)
                    self.close_after_quote[text[before]].append(position)

    def link_end(self, open_paren: int, start: int) -> int | None:
        """Where Python-Markdown's ``getLink`` stops for the ``(`` at ``open_paren`` (its
        destination begins at ``start``): the ``)`` that ends the link, or None for no link."""
        close = self.closing.get(open_paren)
        quote = min(
            (q[i] for q in self.quotes.values() if (i := bisect_left(q, start)) < len(q)),
            default=None,
        )
        if quote is None or (close is not None and close < quote):
            return close
        return self._title_end(quote) or self._end_without_title(start, quote)

    def _title_end(self, quote: int) -> int | None:
        """Inside a title only a quote, then ")", ends the link: the title's own quote character
        after the opening one, or the other quote character after its first appearance."""
        char = self.text[quote]
        ends = [self._close_after_quote(char, quote)]
        others = self.quotes[_OTHER_QUOTE[char]]
        if (i := bisect_right(others, quote)) < len(others):
            ends.append(self._close_after_quote(_OTHER_QUOTE[char], others[i]))
        return min((end for end in ends if end is not None), default=None)

    def _close_after_quote(self, char: str, position: int) -> int | None:
        """The first ")" right after (spaces aside) a ``char`` quote that follows ``position``."""
        i = bisect_right(self.quote_before[char], position)
        return self.close_after_quote[char][i] if i < len(self.quote_before[char]) else None

    def _end_without_title(self, start: int, quote: int) -> int | None:
        """No title ends: the destination ends at the parenthesis that balances those open where
        the quote began (`[text](link"no-title)`), if that one is a ")"."""
        parens = self.parens
        still_open = self.net[bisect_left(parens, quote)] - self.net[bisect_left(parens, start)]
        k = bisect_right(parens, quote) + still_open
        return parens[k] if k < len(parens) and self.text[parens[k]] == ")" else None


class _SharedLinkSyntax:
    """The index last built by any of one Markdown instance's link processors: they all work
    through the same texts, one after another."""

    latest: _LinkSyntax | None = None


class _LinearLinkMixin:
    """``getText`` and ``getLink`` of Python-Markdown's link processors, answered from a
    :class:`_LinkSyntax` index instead of a scan to the end of the paragraph."""

    # What must follow the "]" for the processor to make something of the text in brackets;
    # without it the text is not even copied (with nested brackets it can be most of the text).
    FOLLOWED_BY: re.Pattern | None = None

    _syntax: _LinkSyntax | None = None
    _data: str | None = None  # the text the index answers for, from _valid_from on
    _shift = 0  # a position in _data + _shift = the same position in the index
    _valid_from = 0

    def __init__(self, pattern: str, md: markdown.Markdown, shared: _SharedLinkSyntax):
        super().__init__(pattern, md)
        self.shared = shared

    def _index(self, data: str, position: int) -> tuple[_LinkSyntax, int]:
        if data is self._data and position >= self._valid_from:
            return self._syntax, self._shift
        # If only the text before ``position`` changed (a placeholder went in), the answers
        # are the same.
        rest = data[position:]
        for syntax in (self._syntax, self.shared.latest):
            if syntax is not None and syntax.text.endswith(rest):
                break
        else:
            syntax = self.shared.latest = _LinkSyntax(data)
        self._syntax, self._data = syntax, data
        self._shift, self._valid_from = len(syntax.text) - len(data), position
        return syntax, self._shift

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        if data[index - 1 : index] != "[":
            return super().getText(data, index)
        syntax, shift = self._index(data, index - 1)
        close = syntax.closing.get(index - 1 + shift)
        if close is None:
            return "", len(data), False
        close -= shift
        if self.FOLLOWED_BY is not None and not self.FOLLOWED_BY.match(data, close + 1):
            return "", close + 1, False
        return data[index:close], close + 1, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        m = self.RE_LINK.match(data, pos=index)
        if not m or m.group(1):
            return super().getLink(data, index)  # not a link, or `(<url> "title")`: no scan
        syntax, shift = self._index(data, m.start())
        end = syntax.link_end(m.start() + shift, m.end() + shift)
        if end is None:
            return "", None, len(data), False
        return super().getLink(data[: end - shift + 1], index)


class LinkProcessor(_LinearLinkMixin, inlinepatterns.LinkInlineProcessor):
    FOLLOWED_BY = re.compile(r"\(")


class ImageProcessor(_LinearLinkMixin, inlinepatterns.ImageInlineProcessor):
    FOLLOWED_BY = re.compile(r"\(")


class ReferenceProcessor(_LinearLinkMixin, inlinepatterns.ReferenceInlineProcessor):
    FOLLOWED_BY = re.compile(r"\s?\[")


class ShortReferenceProcessor(_LinearLinkMixin, inlinepatterns.ShortReferenceInlineProcessor):
    pass


class ImageReferenceProcessor(_LinearLinkMixin, inlinepatterns.ImageReferenceInlineProcessor):
    FOLLOWED_BY = re.compile(r"\s?\[")


class ShortImageReferenceProcessor(
    _LinearLinkMixin, inlinepatterns.ShortImageReferenceInlineProcessor
):
    pass


class _TableProcessor(TableProcessor):
    """Python-Markdown's table test splits and strips every line of the block, and the block
    parser tests each block again after another processor takes a line off its top (a header,
    a rule): a long block was quadratic. The first two lines decide, except for a one-column
    table with borders, whose every line must have a border."""

    def test(self, parent, block):
        first = block.find("\n")
        second = block.find("\n", first + 1) if first != -1 else -1
        if second == -1:
            return super().test(parent, block)
        if not super().test(parent, block[:second]):
            return False
        return len(self._split_row(block[:first].strip(" "))) > 1 or super().test(parent, block)


class _FootnoteBlockProcessor(FootnoteBlockProcessor):
    r"""A footnote label ends at the line's end or a bracket: Python-Markdown's ``[^\]]*``
    crosses lines, so each line starting with ``[^`` searched to the end of the block."""

    RE = re.compile(r"^[ ]{0,3}\[\^([^\[\]\n]*)\]:[ ]*(.*)$", re.MULTILINE)


class LinearTimeExtension(Extension):
    """Python-Markdown's processors whose work can grow with the square of a text's length,
    replaced by ones that give the same answers in linear time: the six link processors (with
    :class:`_LinearLinkMixin`), footnote references and definitions (whose labels now end at
    a bracket or a line's end), and the table test.

    One answer differs on purpose: where a title's parentheses run out, Python-Markdown makes
    a link that ends at index -1 and pastes the text's last character back; here, no link."""

    # Python-Markdown's names, patterns and priorities for the processors they replace.
    LINK_PROCESSORS = [
        ("reference", ReferenceProcessor, inlinepatterns.REFERENCE_RE, 170),
        ("link", LinkProcessor, inlinepatterns.LINK_RE, 160),
        ("image_link", ImageProcessor, inlinepatterns.IMAGE_LINK_RE, 150),
        ("image_reference", ImageReferenceProcessor, inlinepatterns.IMAGE_REFERENCE_RE, 140),
        ("short_reference", ShortReferenceProcessor, inlinepatterns.REFERENCE_RE, 130),
        ("short_image_ref", ShortImageReferenceProcessor, inlinepatterns.IMAGE_REFERENCE_RE, 125),
    ]
    # The footnotes extension's `\[\^([^\]]*)\]` runs to the end of the text from every `[^`
    # that nothing closes; stopping at the next `[` as well bounds it (a label is a word).
    FOOTNOTE_REF_RE = r"\[\^([^\[\]]*)\]"

    def extendMarkdown(self, md):
        shared = _SharedLinkSyntax()
        for name, processor, pattern, priority in self.LINK_PROCESSORS:
            md.inlinePatterns.register(processor(pattern, md, shared), name, priority)
        blocks = md.parser.blockprocessors
        if "table" in blocks:
            blocks.register(_TableProcessor(md.parser, blocks["table"].config), "table", 75)
        if "footnote" in md.inlinePatterns:
            footnotes = md.inlinePatterns["footnote"].footnotes
            md.inlinePatterns.register(
                FootnoteInlineProcessor(self.FOOTNOTE_REF_RE, footnotes), "footnote", 175
            )
            blocks.register(_FootnoteBlockProcessor(footnotes), "footnote", 17)


# --- Glossary links ----------------------------------------------------------------------------

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


# --- Maths -------------------------------------------------------------------------------------


MAX_FORMULA = 2_000
"""The longest LaTeX converted to MathML (the content's longest formula has about 220
characters): latex2mathml takes 30 ms for 2,000, and 1.5 s for a 100 KB answer of `$`."""


@lru_cache(maxsize=256)
def latex_to_mathml(tex: str, display: bool) -> str:
    """MathML for a LaTeX expression; a visible error marker when it does not parse, or is
    longer than :data:`MAX_FORMULA`."""
    if len(tex) <= MAX_FORMULA:
        _step(_Watchdog.EVERY)
        try:
            return latex2mathml.converter.convert(
                tex.strip(), display="block" if display else "inline"
            )
        except Exception:  # latex2mathml raises many types on bad input
            pass
    return f'<code class="math-error">{html.escape(tex)}</code>'


def display_maths(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, tex)`` of each display formula: ``$$`` at the start of a line, up to the
    first ``$$`` that ends a line (trailing spaces aside) after at least one character."""
    openings: list[tuple[int, int]] = []  # where a "$$" line starts, where its TeX may start
    closings: list[int] = []  # where a "$$" that ends its line is
    line_end: dict[int, int] = {}  # closing → the end of its line
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if line.startswith("$$"):
            tex_start = end - len(line[2:].lstrip(" \t"))
            openings.append((start, tex_start + 1 if tex_start == end < len(text) else tex_start))
        content = line.rstrip(" \t")
        if content.endswith("$$"):
            closings.append(start + len(content) - 2)
            line_end[closings[-1]] = end
        start = end + 1
    found: list[tuple[int, int, str]] = []
    resume = 0
    for opening, tex_start in openings:
        if opening < resume:
            continue
        i = bisect_left(closings, tex_start + 1)
        if i < len(closings):
            closing = closings[i]
            tex = text[tex_start:closing]
            if len(tex) > 1 and tex.endswith("\n"):  # the line break before "$$" is not TeX
                tex = tex[:-1]
        elif tex_start > opening + 2 and tex_start in line_end:
            closing, tex = tex_start, text[tex_start - 1]  # "$$ $$": one blank character of TeX
        else:
            continue
        resume = line_end[closing]
        found.append((opening, resume, tex))
    return found


class DisplayMathPreprocessor(Preprocessor):
    """``$$…$$`` on its own lines becomes a stashed block of MathML."""

    def run(self, lines):
        text = "\n".join(lines)
        parts, position = [], 0
        for start, end, tex in display_maths(text):
            mathml = latex_to_mathml(tex, display=True)
            placeholder = self.md.htmlStash.store(
                f'<div class="math-display" tabindex="0">{mathml}</div>'
            )
            parts += [text[position:start], f"\n\n{placeholder}\n\n"]
            position = end
        parts.append(text[position:])
        return "".join(parts).split("\n")


class InlineMathProcessor(InlineProcessor):
    def handleMatch(self, m, data):
        return (
            self.md.htmlStash.store(latex_to_mathml(m.group(1), display=False)),
            m.start(0),
            m.end(0),
        )


# A `$` that opens maths is followed by a non-space; the closing one follows a non-space and is
# not followed by a digit, so prices such as "$5 and $10" stay text.
INLINE_MATH_RE = r"(?<![\\$])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\d$])"


class ScrollableTables(Treeprocessor):
    """Wide tables scroll sideways on a phone; a keyboard user must be able to scroll them too."""

    def run(self, root):
        for table in root.iter("table"):
            table.set("tabindex", "0")


MAX_HIGHLIGHTED = 20_000
"""The longest code block coloured by Pygments, which needs up to 0.9 s for 100 KB of code in
one call that no watchdog can interrupt; a longer block is shown without colours."""


class _BoundedHighlight(Highlight):
    def highlight(self, src, *args, **kwargs):
        if len(src) > MAX_HIGHLIGHTED:
            self.use_pygments = False
        return super().highlight(src, *args, **kwargs)


class BoundedHighlightExtension(HighlightExtension):
    """pymdownx.highlight, with :data:`MAX_HIGHLIGHTED`."""

    def get_pymdownx_highlighter(self):
        return _BoundedHighlight


ATTR_LIST_CLASSES = frozenset({"lead"})
"""The classes ``{: .name }`` may set: those the site's CSS gives a meaning in prose. Any other
would borrow the page's own look (``.button``, ``.visually-hidden``, ``.skip-link``)."""
_ATTR_LIST_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")  # the shape of the content's anchors


class _EndsWithAttrList:
    """``AttrListTreeprocessor.HEADER_RE``, searched only in a text that ends with ``}``: from
    every `` {`` of a heading that has none, the search ran to the end of the line."""

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern

    def search(self, text: str) -> re.Match | None:
        body = text[:-1] if text.endswith("\n") else text
        return self.pattern.search(text) if body.rstrip(" ").endswith("}") else None


class SafeAttrList(AttrListTreeprocessor):
    """``{: #id .class }`` as attr_list reads it, setting only an id of a safe shape and classes
    from :data:`ATTR_LIST_CLASSES`; every other attribute it would set (``onclick``,
    ``style``, ``href``…) is dropped, and the braces go as before."""

    HEADER_RE = _EndsWithAttrList(AttrListTreeprocessor.HEADER_RE)

    def assign_attrs(self, elem, attrs_string, *, strict=False):
        attrs, remainder = get_attrs_and_remainder(attrs_string)
        if strict and remainder:
            return remainder
        for key, value in attrs:
            if key == "." and value in ATTR_LIST_CLASSES:
                elem.set("class", f"{elem.get('class')} {value}" if elem.get("class") else value)
            elif key == "id" and value and _ATTR_LIST_ID.fullmatch(value):
                elem.set("id", value)
        return remainder


class HandbookExtension(Extension):
    def __init__(
        self,
        targets: dict[Link, tuple[str, str]],
        glossary: list[tuple[str, str]] | None = None,
        self_url: str = "",
        **kwargs,
    ):
        self.targets = targets
        self.glossary = glossary or []
        self.self_url = self_url
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Raw HTML is never trusted: with these two gone, Markdown escapes it, so what an author
        # typed stays visible as text instead of being executed or silently deleted.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # After fenced code (25) is stashed, so code blocks keep their dollars.
        md.preprocessors.register(DisplayMathPreprocessor(md), "display_math", 22)
        # Above backticks (190) would break `$x$` in code; below it and above emphasis is right.
        md.inlinePatterns.register(InlineMathProcessor(INLINE_MATH_RE, md), "inline_math", 185)
        md.treeprocessors.register(ScrollableTables(md), "scrollable_tables", 0)
        md.treeprocessors.register(SafeAttrList(md), "attr_list", 8)
        # After inline patterns (priority 20), so existing and [[wiki]] links are elements.
        md.treeprocessors.register(
            GlossaryLinker(md, self.glossary, self.self_url), "glossary_links", 5
        )
        # Above backslash escapes (180), so `[[slug\|text]]` works inside a table cell.
        md.inlinePatterns.register(
            WikiLinkProcessor(WIKI_LINK_RE, md, self.targets), "wiki_link", 182
        )


# --- Sanitiser ---------------------------------------------------------------------------------

MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror",
}  # fmt: skip
MATHML_ATTRIBUTES = {
    "display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder",
    "lspace", "rspace", "columnalign", "rowalign", "rowspacing", "columnspacing", "columnlines",
    "rowlines", "frame", "width", "height", "depth", "linethickness", "minsize", "maxsize",
    "movablelimits", "symmetric", "largeop", "scriptlevel", "displaystyle", "form", "notation",
    "encoding",
}  # fmt: skip
HTML_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "a", "strong", "em", "b", "i", "del",
    "ins", "mark", "sub", "sup", "small", "abbr", "code", "kbd", "pre", "span", "div",
    "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr",
    "th", "td", "caption", "details", "summary", "figure", "figcaption", "img",
}  # fmt: skip
ALLOWED_TAGS = HTML_TAGS | MATHML_TAGS
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "table": {"tabindex"},
    "div": {"tabindex"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "abbr": {"title"},
    **{tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS},
}


C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_URL_ATTRIBUTES = {"href", "src"}
_RUNNABLE_SCHEMES = ("javascript:", "vbscript:", "data:")


def browser_url(value: str) -> str:
    """The URL a browser reads from an attribute's ``value``: character references decoded,
    C0 controls and spaces at either end stripped, tabs and line breaks anywhere removed, and
    ``\\`` read as ``/`` (as browsers read http and https URLs)."""
    url = html.unescape(value).strip(C0_AND_SPACE)
    return url.translate({0x9: None, 0xA: None, 0xD: None}).replace("\\", "/")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        # nh3 hands over the value with its references decoded, and decoding it once more can
        # only find more to refuse: `/&amp;#9;/host` is checked as `//host` too.
        url = browser_url(value).lower()
        if url.startswith(_RUNNABLE_SCHEMES):
            return None
        # Images load from this site only, which keeps the CSP's img-src and the page weight
        # honest: `//host/x`, `/\host/x` and `/<tab>/host/x` are other origins, not paths.
        if tag == "img" and (not url.startswith("/") or url.startswith("//")):
            return None
    # Focusable (for scrolling) but never a trap in the tab order.
    if attribute == "tabindex" and value != "0":
        return None
    return value


def sanitise(dirty_html: str, *, images: bool = True) -> str:
    """Strip everything outside the allowlist (and images, unless ``images``). Safe to mark as
    safe afterwards."""
    return nh3.clean(
        dirty_html,
        tags=ALLOWED_TAGS if images else ALLOWED_TAGS - {"img"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


# --- Bounded work for what users write ----------------------------------------------------------

MAX_USER_TEXT = 100_000
"""The most characters :func:`render_user_text` takes (the longest answer the product allows)."""
MAX_NESTING = 12
"""Lists, quotes, admonitions and definitions nested deeper go on as text at this depth."""
USER_RENDER_SECONDS = 0.5
"""CPU time a user's text may take to render; a 100 KB answer of ordinary prose takes 0.2 s."""


class TooLarge(ValueError):
    """The text is longer than :data:`MAX_USER_TEXT`; the message is for the field."""

    def __init__(self, length: int):
        self.length = length
        super().__init__(
            f"This text is {length:,} characters long; the most it can hold is {MAX_USER_TEXT:,}."
        )


class _OutOfTime(BaseException):
    """The render has spent the CPU time its watchdog allows. Not an ``Exception``: extensions
    catch those around a code block or a formula and go on (pymdownx.superfences does)."""


class _Watchdog:
    """The CPU time left to one render, checked between the parser's steps.

    Every step is bounded (a block, a pattern over a text, a match, a formula, a code block), so
    the check comes soon after the time is spent. No signal or thread: the render stops itself.
    Reading the thread's CPU clock is a system call, so light steps read it one in ``EVERY``.
    """

    EVERY = 64

    def __init__(self, seconds: float):
        self.deadline = time.thread_time() + seconds
        self.steps = 0

    def step(self, weight: int = 1) -> None:
        self.steps += weight
        if self.steps >= self.EVERY:
            self.steps = 0
            if time.thread_time() > self.deadline:
                raise _OutOfTime


_watchdog: ContextVar[_Watchdog | None] = ContextVar("markdown_watchdog", default=None)


def _step(weight: int = 1) -> None:
    """One step of the render under way; only counts while a watchdog is watching."""
    watchdog = _watchdog.get()
    if watchdog is not None:
        watchdog.step(weight)


def _stepping(function: Callable, weight: int = 1) -> Callable:
    def stepping(*args, **kwargs):
        _step(weight)
        return function(*args, **kwargs)

    return stepping


class _WatchdogBlockProcessor(BlockProcessor):
    """Tried first on every block the parser takes up; claims none."""

    def test(self, parent, block):
        _step()
        return False


class WatchdogExtension(Extension):
    """A step of the watchdog wherever Python-Markdown's own loops go round: each block the
    parser takes up, each inline pattern tried on a text and each match it handles, each
    element put back in place of its placeholder, each stashed fragment (a coloured code
    block, a formula). Registered after every other extension, so that it sees all their
    patterns."""

    def extendMarkdown(self, md):
        md.parser.blockprocessors.register(_WatchdogBlockProcessor(md.parser), "watchdog", 1_000)
        for pattern in md.inlinePatterns:
            pattern.getCompiledRegExp = _stepping(pattern.getCompiledRegExp)
            pattern.handleMatch = _stepping(pattern.handleMatch)
        # Putting elements back where their placeholders are looks each one up among its
        # parent's children: quadratic in a paragraph of 12,500 emphases ("*[^*" repeated to
        # 100 KB), where it spent 1.4 s past the watchdog's time. A private method: should a
        # new Python-Markdown rename it, renders go on (and the watchdog's test says so).
        inline = md.treeprocessors["inline"]
        if put_back := getattr(inline, "_InlineProcessor__processElementText", None):
            inline._InlineProcessor__processElementText = _stepping(put_back)
        md.htmlStash.store = _stepping(md.htmlStash.store, _Watchdog.EVERY)


class _DropImages(Treeprocessor):
    """Images are for the content pages only; an answer that writes one shows a note instead
    (see :attr:`Rendered.has_images`)."""

    dropped = False

    def run(self, root):
        for parent in list(root.iter()):
            for index, child in reversed(list(enumerate(parent))):
                if child.tag != "img":
                    continue
                self.dropped = True
                if child.tail:  # the text after the image stays
                    if index:
                        parent[index - 1].tail = (parent[index - 1].tail or "") + child.tail
                    else:
                        parent.text = (parent.text or "") + child.tail
                del parent[index]


# One level of nesting at the start of a line: four columns of indentation, or a marker that
# opens a quote, a list item, an admonition, a collapsible block or a definition.
_NESTING_LEVEL = re.compile(
    r"[ ]{4}|[ ]{0,3}\t"
    r"|[ ]{0,3}(?P<marker>>|[*+-](?=[ \t])|\d{1,9}[.)](?=[ \t])|!!!|\?{3}|:(?=[ \t]))[ ]?"
)
_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
_RULE = re.compile(r"[ ]{0,3}([-*_])(?:[ ]*\1){2,}[ ]*$")  # "- - -" is a rule, not three lists


def flatten_nesting(text: str, limit: int = MAX_NESTING) -> str:
    """``text`` with everything nested deeper than ``limit`` levels kept as text at that depth.

    Python-Markdown recurses once or more per level: a list 1,000 deep raised RecursionError,
    and 50,000 quote markers took seconds. The marker of the level past ``limit`` becomes a
    character reference (``&#45;`` for ``-``), which reads the same and opens nothing. Fenced
    code and rules stay as they are.
    """
    lines = text.split("\n")
    fence = ""
    for number, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
        elif opening:
            fence = opening.group(1)
        elif not _RULE.match(line):
            lines[number] = _flatten_line(line, limit)
    return "\n".join(lines)


def _flatten_line(line: str, limit: int) -> str:
    depth = position = 0
    while (level := _NESTING_LEVEL.match(line, position)) is not None:
        if level.group("marker") and depth >= limit:
            start = level.start("marker")
            return f"{line[:start]}&#{ord(line[start])};{line[start + 1 :]}"
        depth += 1
        position = level.end()
    return line


# --- Render ------------------------------------------------------------------------------------


@dataclass
class Rendered:
    html: str
    toc_html: str
    links: set[Link] = field(default_factory=set)
    broken_links: list[str] = field(default_factory=list)
    plain: bool = False
    """The text is shown as plain text with its line breaks: too deep, or too slow, to format."""
    has_images: bool = False
    """The text writes an image, which :func:`render_user_text` leaves out."""


def _markdown(
    targets: dict[Link, tuple[str, str]],
    glossary: list[tuple[str, str]],
    self_url: str,
    *,
    user: bool = False,
) -> markdown.Markdown:
    md = markdown.Markdown(
        extensions=[
            "toc",
            "tables",
            "attr_list",
            "def_list",
            "admonition",
            "footnotes",
            "sane_lists",
            "pymdownx.superfences",
            BoundedHighlightExtension(use_pygments=True, css_class="highlight"),
            "pymdownx.tilde",
            "pymdownx.details",
            LinearTimeExtension(),
            HandbookExtension(targets, glossary, self_url),
            *([WatchdogExtension()] if user else []),
        ],
        extension_configs={
            "toc": {
                "toc_depth": "2-3",
                "permalink": "#",
                "permalink_title": "Link to this section",
            },
            "footnotes": {"BACKLINK_TITLE": "Back to the text"},
        },
        output_format="html",
    )
    if user:
        md.treeprocessors.register(_DropImages(md), "drop_images", 1)
    return md


def _render(
    text: str,
    *,
    self_url: str = "",
    glossary: bool = True,
    user: bool = False,
    written: str | None = None,
    resolve: bool = True,
) -> Rendered:
    """``text`` rendered; ``written`` (``text`` unless given) is what plain text shows. Without
    ``resolve``, no query: internal links are all shown as broken."""
    links = find_links(text)
    targets = resolve_links(links) if resolve else {}
    md = _markdown(targets, glossary_terms() if glossary else [], self_url, user=user)
    rendered = Rendered(
        html="",
        toc_html="",
        links={link for link in links if link in targets},
        broken_links=sorted(str(link) for link in links if link not in targets),
    )
    token = _watchdog.set(_Watchdog(USER_RENDER_SECONDS) if user else None)
    try:
        body = md.convert(text)
        toc = md.toc if getattr(md, "toc_tokens", None) else ""
        rendered.html = sanitise(body, images=not user)
        rendered.toc_html = sanitise(toc)
    except (_OutOfTime, RecursionError):
        # The last resort, for what flatten_nesting and the watchdog did not stop in time.
        rendered.html = sanitise(linebreaks(escape(text if written is None else written)))
        rendered.toc_html, rendered.plain = "", True
    finally:
        _watchdog.reset(token)
    if user and not rendered.plain:
        rendered.has_images = md.treeprocessors["drop_images"].dropped
    return rendered


def render(text: str, *, self_url: str = "", glossary: bool = True) -> Rendered:
    """Render Markdown to sanitised HTML with its table of contents and internal links.

    With ``glossary``, the first mention of each known term links to its page (not to
    ``self_url``, the page being rendered). For the content, whose authors are the editors;
    what users write goes through :func:`render_user_text`.
    """
    return _render(text, self_url=self_url, glossary=glossary)


def render_user_text(text: str, *, glossary: bool = True) -> Rendered:
    """Render what a user wrote (a design-doc answer) with bounded work, never an error but one.

    Raises :class:`TooLarge` (a ``ValueError``, whose message is for the field) beyond
    :data:`MAX_USER_TEXT` characters, a line break counting as one. Nesting deeper than
    :data:`MAX_NESTING` levels goes on as text (:func:`flatten_nesting`). Images are left out:
    ``has_images`` says whether the text wrote one. A text that still takes more than
    :data:`USER_RENDER_SECONDS` of CPU time comes back as plain text with its line breaks, with
    ``plain`` set.
    """
    text = _line_breaks(text)
    if len(text) > MAX_USER_TEXT:
        raise TooLarge(len(text))
    return _render(flatten_nesting(text), glossary=glossary, user=True, written=text)


def has_images(text: str) -> bool:
    """Whether ``text`` writes an image, which an answer does not show.

    Renders the text (without a query); when it is being rendered anyway,
    ``render_user_text(text).has_images`` is the same answer for free. Never raises: a text over
    :data:`MAX_USER_TEXT` is judged by its first :data:`MAX_USER_TEXT` characters.
    """
    if "![" not in text:
        return False
    text = _line_breaks(text)[:MAX_USER_TEXT]
    return _render(flatten_nesting(text), glossary=False, user=True, resolve=False).has_images


def _line_breaks(text: str) -> str:
    """Line breaks as Markdown reads them: a browser sends each as "\\r\\n"."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def render_inline(text: str) -> str:
    """One line of Markdown (a summary, a prompt's help) without the surrounding paragraph."""
    rendered = render(text, glossary=False).html.strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered
