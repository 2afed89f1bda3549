"""The sanitiser: nh3 with an explicit allowlist, so no script, event handler, ``style``,
``javascript:``/``data:`` URL, iframe or form survives, whoever wrote the Markdown."""

from __future__ import annotations

import html

import nh3

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
    # Regions that scroll sideways (tables, display maths, code) are focusable so that a
    # keyboard can scroll them; the attribute filter keeps tabindex="0" only.
    "table": {"tabindex"},
    "div": {"tabindex"},
    "pre": {"tabindex"},
    "th": {"align", "colspan", "rowspan", "scope", "aria-label"},
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
