"""Pathological Markdown never holds a worker: every pattern of the pipeline is linear-time.

The inputs are those that once stalled a gunicorn worker or raised a 500, and larger ones. Each
must finish within a generous bound (seconds, on a loaded machine), and what the author typed
stays on the page as text. Python-Markdown's own link processors and the former display-maths
expression serve as oracles: the linear replacements must give the same answers.
"""

from __future__ import annotations

import re
import time

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown.extensions import Extension

from apps.core.markdown import LinearLinkExtension, display_maths, find_links, render

pytestmark = pytest.mark.django_db

BOUND = 2.0  # seconds; these inputs took from 4 s to several minutes before


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


# --- The inputs that stalled a worker, through render() ----------------------------------------


@pytest.mark.parametrize("size", [12_000, 100_000])
def test_a_text_of_opening_brackets_renders_as_text_in_bounded_time(size):
    rendered, seconds = timed(render, "[" * size)
    assert seconds < BOUND, f"{seconds:.1f} s"
    assert "[" * 1000 in rendered.html


@pytest.mark.parametrize("repeats", [10_000, 25_000])
def test_unclosed_wiki_links_render_as_text_in_bounded_time(repeats):
    rendered, seconds = timed(render, "[[a|" * repeats)
    assert seconds < BOUND, f"{seconds:.1f} s"
    assert "[[a|[[a|" in rendered.html
    assert rendered.links == set() and rendered.broken_links == []


@pytest.mark.parametrize("repeats", [10_000, 25_000])
def test_lines_opening_display_maths_that_never_close_stay_text(repeats):
    rendered, seconds = timed(render, "$$x\n" * repeats)
    assert seconds < BOUND, f"{seconds:.1f} s"
    assert "<math" not in rendered.html
    assert rendered.html.count("$$x") == repeats


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000 + "]" * 50_000,  # nested: each "[" closes, far away
        "[a](" * 25_000,  # a destination that never closes
        '[a](("x)' * 12_500,  # a title that never closes, and parentheses that never balance
        "![" * 50_000,
        "[a][" * 25_000,
        "[^" * 50_000,
    ],
    ids=["nested", "open-destination", "open-title", "images", "references", "footnotes"],
)
def test_other_unclosed_link_syntax_renders_in_bounded_time(text):
    rendered, seconds = timed(render, text)
    assert seconds < BOUND, f"{seconds:.1f} s"
    assert rendered.html.startswith("<p>")


def test_finding_links_in_a_long_text_is_linear():
    text = "[[a|" * 25_000 + "[[tcp]] and [[metric:f1-score|F1]]"
    links, seconds = timed(find_links, text)
    assert seconds < BOUND / 4, f"{seconds:.1f} s"
    assert {str(link) for link in links} == {"tcp", "metric:f1-score"}


def test_wiki_link_parts_are_bounded():
    slug = "a" * 80
    assert {link.slug for link in find_links(f"[[{slug}]]")} == {slug}
    assert find_links(f"[[{slug}a]]") == set(), "a slug is at most 80 characters"
    assert find_links(f"[[tcp|{'x' * 200}]]") and not find_links(f"[[tcp|{'x' * 201}]]")
    assert not find_links("[[tcp|two\nlines]]") and not find_links("[[tcp|a [b] c]]")


# --- The linear replacements give the answers of what they replace ------------------------------


class _PythonMarkdownLinks:
    """Python-Markdown's ``getLink`` returns a link ending at index -1 (text from its end pasted
    back) when a title's parenthesis runs out; ours returns no link there. Everything else must
    be equal."""

    def getLink(self, data, index):
        href, title, end, handled = super().getLink(data, index)
        return ("", None, len(data), False) if handled and end < 0 else (href, title, end, handled)


class _OracleLinks(Extension):
    def extendMarkdown(self, md):
        for name, processor, pattern, priority in LinearLinkExtension.PROCESSORS:
            base = processor.__mro__[2]  # the Python-Markdown class under the mixin
            oracle = type(base.__name__, (_PythonMarkdownLinks, base), {})
            md.inlinePatterns.register(oracle(pattern, md), name, priority)


LINK_TOKENS = [
    "[", "]", "(", ")", '"', "'", " ", "a", "!", "\n", "<", ">", "*", "`", "^",
    "[a](b)", '[a](b "t")', "[r]", "[a][r]", "![i](s)", "](", "\n\n", "\n[r]: /u\n",
]  # fmt: skip
LINK_SYNTAX = st.lists(st.sampled_from(LINK_TOKENS), max_size=60).map("".join)


@given(LINK_SYNTAX)
@settings(max_examples=400, deadline=None)
def test_linear_link_processors_give_python_markdown_answers(text):
    extensions = ["footnotes", "attr_list", "tables"]
    expected = markdown.markdown(text, extensions=[*extensions, _OracleLinks()])
    assert markdown.markdown(text, extensions=[*extensions, LinearLinkExtension()]) == expected


FORMER_DISPLAY_MATHS = re.compile(
    r"^\$\$[ \t]*\n?(?P<tex>.+?)\n?\$\$[ \t]*$", re.MULTILINE | re.DOTALL
)


@given(st.lists(st.sampled_from(["$", "$$", "\n", " ", "\t", "x", "$$\n", "\n$$"])).map("".join))
@settings(max_examples=400, deadline=None)
def test_display_maths_scan_finds_what_the_former_expression_found(text):
    expected = [(m.start(), m.end(), m.group("tex")) for m in FORMER_DISPLAY_MATHS.finditer(text)]
    assert display_maths(text) == expected


@pytest.mark.parametrize(
    ("markdown_text", "html"),
    [
        ('[a](/b "t")', '<a href="/b" title="t">a</a>'),
        ('[test](/link"notitle)', '<a href="/link&quot;notitle">test</a>'),
        ("[a [b] c](/x)", '<a href="/x">a [b] c</a>'),
        ("[a](/b(c))", '<a href="/b(c)">a</a>'),
        ("[a][r]\n\n[r]: /u", '<a href="/u">a</a>'),
        ("[r]\n\n[r]: /u", '<a href="/u">r</a>'),
    ],
)
def test_links_keep_working(markdown_text, html):
    assert html in render(markdown_text).html
