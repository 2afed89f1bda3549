"""Python-Markdown's processors whose work can grow with the square of a text's length,
replaced by ones that give the same answers in linear time (:class:`LinearTimeExtension`)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

import markdown
from markdown import inlinepatterns
from markdown.extensions import Extension
from markdown.extensions.footnotes import FootnoteBlockProcessor, FootnoteInlineProcessor
from markdown.extensions.tables import TableProcessor

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
