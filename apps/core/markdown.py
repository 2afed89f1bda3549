"""The one Markdown pipeline of the site: Markdown → HTML → sanitised HTML.

Every app renders stored Markdown through :func:`render`, once, when the content is saved; pages
then serve the stored HTML. The pipeline adds three things to Python-Markdown and pymdown:

* maths: ``$…$`` inline and ``$$…$$`` display, converted to MathML on the server;
* internal links: ``[[slug]]``, ``[[slug|text]]``, ``[[slug#anchor|text]]`` and
  ``[[kind:slug|text]]``, resolved through the link kinds registered by the apps (see
  :func:`register_link_kind`); a link to nothing is rendered visibly broken and reported;
* a strict sanitiser (nh3) with an explicit allowlist, so no script, event handler, ``style``,
  ``javascript:``/``data:`` URL, iframe or form survives, whoever wrote the Markdown.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

import latex2mathml.converter
import markdown
import nh3
from django.core.cache import cache
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from apps.core import caching

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


WIKI_LINK_RE = r"\[\[(?:(?P<kind>[a-z]+):)?(?P<slug>[a-z0-9][a-z0-9-]*)(?:#(?P<anchor>[A-Za-z0-9_-]+))?(?:\\?\|(?P<text>[^\]]+))?\]\]"  # noqa: E501


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
    """The compiled alternation of all terms and the term → URL map, built once per glossary."""
    urls = {term.lower(): url for term, url in terms}
    if not terms:
        return None, urls
    parts = []
    for term, _ in terms:
        # Acronyms match only in capitals, so "ELU" does not link an "elu" in other words.
        acronym = term.upper() == term and len(term) <= 5
        parts.append(f"(?-i:{re.escape(term)})" if acronym else re.escape(term))
    pattern = re.compile(r"(?<![\w-])(" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)
    return pattern, urls


class GlossaryLinker(Treeprocessor):
    """Link the first mention of each known term to its page, outside code, headings, maths
    and existing links, and never to the page being rendered."""

    def __init__(self, md, terms: list[tuple[str, str]], self_url: str):
        super().__init__(md)
        self.pattern, self.urls = _term_pattern(tuple(terms))
        self.self_url = self_url
        self.linked: set[str] = set()

    def run(self, root):
        if self.pattern is not None:
            self._walk(root)

    def _target(self, match: re.Match) -> str | None:
        url = self.urls.get(match.group(0).lower())
        if not url or url.split("#")[0] == self.self_url or url in self.linked:
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
        if element.text:
            element.text, links = self._link(element.text)
            for index, link in enumerate(links):
                element.insert(index, link)
        for child in list(element):
            self._walk(child)
            if child.tail:
                child.tail, links = self._link(child.tail)
                position = list(element).index(child) + 1
                for offset, link in enumerate(links):
                    element.insert(position + offset, link)


# --- Maths -------------------------------------------------------------------------------------


def latex_to_mathml(tex: str, display: bool) -> str:
    """MathML for a LaTeX expression; a visible error marker when it does not parse."""
    try:
        return latex2mathml.converter.convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many types on bad input
        return f'<code class="math-error">{html.escape(tex)}</code>'


class DisplayMathPreprocessor(Preprocessor):
    """``$$…$$`` on its own lines becomes a stashed block of MathML."""

    BLOCK_RE = re.compile(r"^\$\$[ \t]*\n?(?P<tex>.+?)\n?\$\$[ \t]*$", re.MULTILINE | re.DOTALL)

    def run(self, lines):
        text = "\n".join(lines)

        def replace(m: re.Match) -> str:
            mathml = latex_to_mathml(m.group("tex"), display=True)
            placeholder = self.md.htmlStash.store(
                f'<div class="math-display" tabindex="0">{mathml}</div>'
            )
            return f"\n\n{placeholder}\n\n"

        return self.BLOCK_RE.sub(replace, text).split("\n")


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


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 already drops javascript: and friends from href/src; images may not load data: URLs or
    # any other origin, which keeps the CSP's img-src and the page weight honest.
    # "//host/x" and "/\\host/x" are other origins, not paths on this site.
    if (
        tag == "img"
        and attribute == "src"
        and (not value.startswith("/") or value[1:2] in {"/", "\\"})
    ):
        return None
    # Focusable (for scrolling) but never a trap in the tab order.
    if attribute == "tabindex" and value != "0":
        return None
    return value


def sanitise(dirty_html: str) -> str:
    """Strip everything outside the allowlist. Safe to mark as safe afterwards."""
    return nh3.clean(
        dirty_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


# --- Render ------------------------------------------------------------------------------------


@dataclass
class Rendered:
    html: str
    toc_html: str
    links: set[Link] = field(default_factory=set)
    broken_links: list[str] = field(default_factory=list)


def _markdown(
    targets: dict[Link, tuple[str, str]], glossary: list[tuple[str, str]], self_url: str
) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "toc",
            "tables",
            "attr_list",
            "def_list",
            "admonition",
            "footnotes",
            "sane_lists",
            "pymdownx.superfences",
            "pymdownx.highlight",
            "pymdownx.tilde",
            "pymdownx.details",
            HandbookExtension(targets, glossary, self_url),
        ],
        extension_configs={
            "toc": {
                "toc_depth": "2-3",
                "permalink": "#",
                "permalink_title": "Link to this section",
            },
            "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight"},
            "footnotes": {"BACKLINK_TITLE": "Back to the text"},
        },
        output_format="html",
    )


def render(text: str, *, self_url: str = "", glossary: bool = True) -> Rendered:
    """Render Markdown to sanitised HTML with its table of contents and internal links.

    With ``glossary``, the first mention of each known term links to its page (not to
    ``self_url``, the page being rendered).
    """
    links = find_links(text)
    targets = resolve_links(links)
    md = _markdown(targets, glossary_terms() if glossary else [], self_url)
    body = md.convert(text)
    toc = md.toc if getattr(md, "toc_tokens", None) else ""
    broken = sorted(str(link) for link in links if link not in targets)
    return Rendered(
        html=sanitise(body),
        toc_html=sanitise(toc),
        links={link for link in links if link in targets},
        broken_links=broken,
    )


def render_inline(text: str) -> str:
    """One line of Markdown (a summary, a prompt's help) without the surrounding paragraph."""
    rendered = render(text, glossary=False).html.strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered
