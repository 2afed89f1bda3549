"""The site's own extension to Python-Markdown (:class:`HandbookExtension`): raw HTML off,
maths, ``[[wiki]]`` and glossary links, and the stock pieces it makes safe or bounded (attr_list's
``{: … }``, code highlighting, tables and code a keyboard can scroll)."""

from __future__ import annotations

import re
from html import escape

from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListTreeprocessor, get_attrs_and_remainder
from markdown.postprocessors import Postprocessor
from markdown.treeprocessors import Treeprocessor
from pymdownx.highlight import Highlight, HighlightExtension

from apps.core.markdown.glossary_links import GlossaryLinker
from apps.core.markdown.links import WIKI_LINK_RE, Link, WikiLinkProcessor
from apps.core.markdown.maths import (
    INLINE_MATH_RE,
    DisplayMathPreprocessor,
    InlineMathProcessor,
    mathml_text,
)


class ScrollableTables(Treeprocessor):
    """Wide tables scroll sideways on a phone; a keyboard user must be able to scroll them too.
    A header cell left empty (the corner of a comparison, ``| | Batch | Online |``) is a data
    cell: a header with nothing in it names no column for a screen reader."""

    def run(self, root):
        for table in root.iter("table"):
            table.set("tabindex", "0")
            for cell in table.iter("th"):
                if len(cell) == 0 and not (cell.text or "").strip():
                    cell.tag = "td"


_PRE = re.compile(r"<pre(?=[\s>])")


class ScrollableCode(Postprocessor):
    """Code blocks scroll sideways too. Raw HTML is off, so every ``<pre`` left in the output
    is a code block's (fenced or indented, coloured or not), stashed as HTML by the highlighter
    and restored by now."""

    def run(self, text):
        return _PRE.sub('<pre tabindex="0"', text)


_FORMULA_HEADER = re.compile(r"<th([^>]*)>(<math\b[^>]*>(?:(?!</math>).)*</math>)</th>", re.DOTALL)


class NamedFormulaHeaders(Postprocessor):
    """A table header that is only a formula (``| $y$ | $\\hat{y}$ |``) names its column in
    words too: assistive technology and axe find no text in MathML, so such a column would
    have no name. The label is the formula read as a line (``maths.mathml_text``)."""

    def run(self, text):
        def label(match):
            name = escape(mathml_text(match[2]), quote=True)
            return f'<th{match[1]} aria-label="{name}">{match[2]}</th>'

        return _FORMULA_HEADER.sub(label, text)


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
        # After the stashed HTML comes back (raw_html, 30).
        md.postprocessors.register(ScrollableCode(md), "scrollable_code", 10)
        md.postprocessors.register(NamedFormulaHeaders(md), "named_formula_headers", 9)
        md.treeprocessors.register(SafeAttrList(md), "attr_list", 8)
        # After inline patterns (priority 20), so existing and [[wiki]] links are elements.
        md.treeprocessors.register(
            GlossaryLinker(md, self.glossary, self.self_url), "glossary_links", 5
        )
        # Above backslash escapes (180), so `[[slug\|text]]` works inside a table cell.
        md.inlinePatterns.register(
            WikiLinkProcessor(WIKI_LINK_RE, md, self.targets), "wiki_link", 182
        )
