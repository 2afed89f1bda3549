"""Maths: ``$…$`` inline and ``$$…$$`` display, converted to MathML on the server."""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from html.parser import HTMLParser

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


# --- MathML read back as one line of text (search indexes and snippets) ----------------------

#: Operators read with a space either side: "0.99^2 = 98.01%", "TP / (TP + FP)". A slash
#: too: PostgreSQL's parser reads "0.75/1.25" as a file name, and a search for 1.25 misses it.
SPACED_OPERATORS = frozenset("=+-−×·÷±≈≠≤≥<>→⇒∝∈≡/")
#: A plus or minus after an opening bracket, a comma or a relation is a sign: "[-0.17, ∞)".
_SIGN = re.compile(r"(^|[(\[{]|[,=<>≤≥≈≠×·÷∈→] ) ?([-+−±]) ")
#: Operators whose limits or scripts come before an operand: "∑_j e^(z_j)", "max_a Q".
_BIG_OPERATORS = frozenset("∑∏∫∮⋃⋂")
#: An accent over one letter, as the combining mark that puts it there: ŷ, x̄, ṽ.
ACCENTS = {"^": "\u0302", "ˆ": "\u0302", "~": "\u0303", "˜": "\u0303", "¯": "\u0304",
           "‾": "\u0305", "˙": "\u0307", "→": "\u20d7"}  # fmt: skip
_TOKENS = frozenset({"mi", "mn", "mo", "mtext", "ms"})
_SIMPLE = re.compile(r"(?:[^\W_]|[.%\u0300-\u036f\u20d7])+")  # no "_": "e^(z_i)", not "e^z_i"
_PRIMES = frozenset("′″‴")

type _Node = tuple[str, list[_Node | str]]


MAX_MATHML_DEPTH = 50
"""Elements nested deeper read as their bare text: hand-written formulas nest a dozen deep, and
a formula of 2,000 braces would nest 1,000 deep, as deep as Python lets functions recurse."""


class _MathMLTree(HTMLParser):
    """One ``<math>`` element as ``(tag, children)`` tuples, text children as strings."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root: _Node = ("math", [])
        self.open: list[_Node] = [self.root]
        self.flattened: list[str] = []  # the elements open below MAX_MATHML_DEPTH

    def handle_starttag(self, tag, attrs):
        if self.flattened or len(self.open) > MAX_MATHML_DEPTH:
            self.flattened.append(tag)
            return
        node: _Node = (tag, [])
        self.open[-1][1].append(node)
        self.open.append(node)

    def handle_startendtag(self, tag, attrs):
        if not self.flattened:
            self.open[-1][1].append((tag, []))

    def handle_endtag(self, tag):
        if self.flattened:  # the sanitiser's HTML closes every element it opens
            self.flattened.pop()
            return
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        # Below the depth, each token is read on its own: "x + 1".
        self.open[-1][1].append((self.flattened[-1], [data]) if self.flattened else data)


def mathml_text(mathml: str) -> str:
    """A formula's MathML as a line of text that keeps its numbers and reads in order:
    ``\\frac{TP}{TP+FP}`` as "TP / (TP + FP)", ``0.99^2 = 98.01\\%`` as "0.99^2 = 98.01%"."""
    tree = _MathMLTree()
    tree.feed(mathml)
    tree.close()
    text = _SIGN.sub(r"\1\2", " ".join(_line(tree.root).split()))
    return unicodedata.normalize("NFC", text)  # y and a combining hat as one letter, ŷ


def _group(text: str) -> str:
    """``text`` as one operand: in parentheses unless it is a single name or number."""
    text = " ".join(text.split())
    return text if _SIMPLE.fullmatch(text) else f"({text})"


def _line(node: _Node) -> str:
    tag, children = node
    if tag in _TOKENS:
        text = "".join(child for child in children if isinstance(child, str))
        if tag != "mtext":  # its spaces are the author's: 400\text{ W}
            text = text.strip()
        if tag == "mo" and text in SPACED_OPERATORS:
            return f" {text} "
        if len(text) > 1 and text.isalpha():
            return f" {text} "  # a function's name: "r + max_a Q", not "r + maxQ"
        return f"{text} " if tag == "mo" and text == "," else text
    parts = [_line(child) for child in children if not isinstance(child, str)]
    if parts == [", "]:
        return ","  # a thousands separator, 1{,}000
    if tag == "mfrac" and len(parts) == 2:
        return f"{_group(parts[0])} / {_group(parts[1])}"
    if tag == "msup" and len(parts) == 2 and parts[1].strip() in _PRIMES:
        return parts[0].strip() + parts[1].strip()
    scripted = (
        3 if tag in {"msubsup", "munderover"} else 2 if tag in {"msup", "msub", "munder"} else 0
    )
    if scripted and len(parts) == scripted:
        base = parts[0].strip()
        scripts = ("^" if tag == "msup" else "_") + _group(parts[1])
        if len(parts) == 3:
            scripts += f"^{_group(parts[2])}"
        before_operand = base in _BIG_OPERATORS or (len(base) > 1 and base.isalpha())
        return f" {base}{scripts} " if before_operand else f"{base}{scripts}"
    if tag == "mover" and len(parts) == 2:
        base, over = parts[0].strip(), parts[1].strip()
        if over in ACCENTS:  # over one letter, as its combining mark; over more, left out
            return base + ACCENTS[over] if len(base) == 1 else base
        return f"{base}^{_group(over)}"
    if tag == "msqrt":
        return f"√{_group(''.join(parts))}"
    if tag == "mroot" and len(parts) == 2:
        return f"{_group(parts[1])}√{_group(parts[0])}"
    if tag in {"mtable", "mtr"}:
        return ("; " if tag == "mtable" else ", ").join(part.strip() for part in parts)
    if tag in {"annotation", "annotation-xml"}:
        return ""
    if tag == "mspace":
        return " "
    return "".join(parts)
