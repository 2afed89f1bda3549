"""Maths: ``$…$`` inline and ``$$…$$`` display, converted to MathML on the server."""

from __future__ import annotations

import html
from bisect import bisect_left
from functools import lru_cache

import latex2mathml.converter
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

from apps.core.markdown.limits import _step, _Watchdog

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
