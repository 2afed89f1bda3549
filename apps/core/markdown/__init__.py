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

This module renders; its parts live beside it: ``links`` (internal links and their registry),
``linear_time`` (the linear-time processors), ``glossary_links``, ``maths``, ``handbook`` (the
site's extension to Python-Markdown, with attr_list, highlighting and tables made safe),
``sanitiser`` and ``limits`` (the bounds on what users write, and the watchdog).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import markdown
from django.utils.html import escape, linebreaks

from apps.core.markdown import limits
from apps.core.markdown.glossary_links import frozen_glossary, glossary_terms, register_glossary
from apps.core.markdown.handbook import BoundedHighlightExtension, HandbookExtension
from apps.core.markdown.limits import (
    MAX_NESTING,
    MAX_USER_TEXT,
    TooLarge,
    WatchdogExtension,
    _DropImages,
    _OutOfTime,
    _Watchdog,
    _watchdog,
    flatten_nesting,
)
from apps.core.markdown.linear_time import LinearTimeExtension
from apps.core.markdown.links import Link, find_links, register_link_kind, resolve_links
from apps.core.markdown.maths import display_maths, latex_to_mathml
from apps.core.markdown.sanitiser import sanitise

__all__ = [
    "MAX_NESTING",
    "MAX_USER_TEXT",
    "LinearTimeExtension",
    "Link",
    "Rendered",
    "TooLarge",
    "display_maths",
    "find_links",
    "fingerprint",
    "flatten_nesting",
    "frozen_glossary",
    "glossary_terms",
    "has_images",
    "latex_to_mathml",
    "register_glossary",
    "register_link_kind",
    "render",
    "render_inline",
    "render_user_text",
    "resolve_links",
    "sanitise",
]


#: The libraries whose output stored HTML holds, beside this package's own code.
RENDERING_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "latex2mathml", "nh3")


@functools.cache
def fingerprint() -> str:
    """What renders Markdown here: this package's code and the versions of the libraries it
    calls. HTML stored by a renderer with another fingerprint is made again at the next
    ``load_content`` (apps.core.content.load), so a fix to rendering reaches every page."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for library in RENDERING_LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}\0".encode())
    return digest.hexdigest()


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
    # Read where it is defined, at each render: a test lowers it there.
    token = _watchdog.set(_Watchdog(limits.USER_RENDER_SECONDS) if user else None)
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
    :data:`limits.USER_RENDER_SECONDS` of CPU time comes back as plain text with its line
    breaks, with ``plain`` set.
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
