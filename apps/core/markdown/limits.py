"""Bounded work for what users write: the longest text taken, nesting flattened past
:data:`MAX_NESTING` levels, and a watchdog on the CPU time a render may take."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextvars import ContextVar

from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

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
