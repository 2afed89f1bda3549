"""The one Markdown pipeline: features it must support and attacks it must stop."""

import re
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apps.core.markdown import render, sanitise
from apps.core.markdown.maths import MAX_MATHML_DEPTH, latex_to_mathml, mathml_text

# Rendering looks up internal links and glossary terms in the database.
pytestmark = pytest.mark.django_db


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def assert_inert(html: str) -> None:
    """No element that runs code, loads a frame, submits, or styles the page survives."""
    for tag, attrs in elements(html):
        assert tag not in {"script", "iframe", "form", "style", "object", "embed", "input"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}>"
            assert name != "style", f"<{tag} style>"
            if name in {"href", "src", "action", "formaction", "xlink:href"}:
                assert not (value or "").strip().lower().startswith(("javascript:", "data:"))


ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name=x></form>',
    "<svg><script>alert(1)</script></svg>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<details open ontoggle="alert(1)">',
    "<style>body{display:none}</style>",
    '<a href="&#106;avascript:alert(1)">x</a>',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_markdown_never_lets_an_attack_through(attack):
    assert_inert(render(f"Before\n\n{attack}\n\nAfter").html)


@pytest.mark.parametrize("attack", ATTACKS)
def test_sanitiser_itself_strips_raw_html_attacks(attack):
    # The sanitiser is the last line of defence, so it must hold on raw HTML too.
    assert_inert(sanitise(attack))


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<pre tabindex="0">x</pre>', '<pre tabindex="0">x</pre>'),
        ('<table tabindex="0"></table>', '<table tabindex="0"></table>'),
        ('<div tabindex="0">x</div>', '<div tabindex="0">x</div>'),
        # Focusable for scrolling only: never first in the tab order, never on other elements.
        ('<pre tabindex="1">x</pre>', "<pre>x</pre>"),
        ('<pre tabindex="-1">x</pre>', "<pre>x</pre>"),
        ('<div tabindex="99">x</div>', "<div>x</div>"),
        ('<p tabindex="0">x</p>', "<p>x</p>"),
        ('<code tabindex="0">x</code>', "<code>x</code>"),
        ('<a href="/x" tabindex="0">x</a>', '<a href="/x">x</a>'),
    ],
)
def test_sanitiser_keeps_tabindex_0_only_where_a_region_scrolls(dirty, clean):
    assert sanitise(dirty) == clean


@pytest.mark.parametrize(
    "markdown_text",
    ["```python\nx = 1\n```\n", "```\nplain\n```\n", "    indented = 1\n",
     "```python\n" + "x = 1\n" * 2_001 + "```\n"],  # too long to colour
)  # fmt: skip
def test_a_code_block_a_keyboard_can_scroll(markdown_text):
    html = render(markdown_text, glossary=False).html
    assert html.count('<pre tabindex="0">') == 1, html[:300]


def test_raw_html_is_shown_as_text_not_deleted():
    html = render("Use <b>bold</b> carefully").html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_headings_get_stable_anchors_and_a_table_of_contents():
    rendered = render("## How it works\n\ntext\n\n### Three-way handshake {#handshake}\n\nmore")
    assert '<h2 id="how-it-works">' in rendered.html
    assert '<h3 id="handshake">' in rendered.html
    assert 'href="#how-it-works"' in rendered.toc_html
    assert 'href="#handshake"' in rendered.toc_html


def test_tables_code_admonitions_and_footnotes():
    html = render(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        '```python\nx = 1\n```\n\n!!! note "Heads up"\n    body\n\nText[^1]\n\n[^1]: A note.\n'
    ).html
    assert '<table tabindex="0">' in html and "<td>1</td>" in html
    assert '<div class="highlight">' in html and '<span class="n">x</span>' in html
    assert '<div class="admonition note">' in html and "Heads up" in html
    assert 'class="footnote"' in html and 'href="#fn:1"' in html


def test_every_table_header_names_its_column():
    html = render(
        "| | $y$ | $\\hat{y}$ | $a$ and $b$ | Cost |\n|---|---|---|---|---|\n| r | 1 | 2 | 3 | 4 |"
    ).html
    header = html.split("</thead>")[0]
    assert "<th></th>" not in header and header.count("<td></td>") == 1, "the corner is a cell"
    assert '<th aria-label="y"><math' in header and '<th aria-label="ŷ"><math' in header
    assert "<th><math" in header, "a header with words besides its formula is named by them"
    assert "<th>Cost</th>" in header


def test_inline_and_display_maths_become_mathml():
    html = render("Energy $E = mc^2$ here.\n\n$$\n\\frac{TP}{TP + FP}\n$$\n").html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert "<mfrac>" in html


def test_dollar_amounts_and_code_keep_their_dollars():
    html = render("It costs $5 and $10.\n\n`$x$` stays code.").html
    assert "<math" not in html
    assert "$5 and $10" in html
    assert "<code>$x$</code>" in html


def test_bad_latex_is_marked_not_crashed():
    html = render(r"Broken $\frac{1}{$ maths").html
    assert "math-error" in html or "<math" in html


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"0.99^2 = 98.01\%", "0.99^2 = 98.01%"),
        (r"\mathrm{Precision} = \frac{TP}{TP + FP}", "Precision = TP / (TP + FP)"),
        (r"s_i(z) = \frac{e^{z_i}}{\sum_j e^{z_j}}", "s_i(z) = (e^(z_i)) / (∑_j e^(z_j))"),
        (r"\sum_{i=1}^{n} (y_i - \hat{y}_i)^2", "∑_(i = 1)^n (y_i − ŷ_i)^2"),
        (r"\mathrm{RMSE} = \sqrt{30.6} \approx 5.53", "RMSE = √30.6 ≈ 5.53"),
        (r"n = 1{,}000 \text{ requests}", "n = 1,000 requests"),
        (r"y \in \{-1, +1\}, \ln 0.1 \approx -2.30", "y ∈ {−1, +1}, ln 0.1 ≈ −2.30"),
        (r"a < b", "a < b"),
    ],
)
def test_a_formula_reads_as_one_line_of_text_with_its_numbers(tex, text):
    mathml = render(f"${tex}$", glossary=False).html
    assert "<math" in mathml
    assert mathml_text(mathml) == text


TEX_TOKENS = [
    "1", "2.5", "30", "x", "y", " ", "+", "-", "=", "<", "/", ",", "(", ")", "{", "}", "^", "_",
    "\\frac{", "}{", "\\sqrt{", "\\sqrt[3]{", "\\hat{", "\\bar{", "\\sum_", "\\max_",
    "\\text{ a 1}", "\\mathrm{TP}", "\\%", "{,}", "\\le", "\\times", "'",
]  # fmt: skip


@given(st.lists(st.sampled_from(TEX_TOKENS), max_size=30).map("".join))
@settings(max_examples=300, deadline=None)
def test_any_formula_reads_as_text_with_every_digit_in_order(tex):
    mathml = latex_to_mathml(tex, display=False)
    assume(mathml.startswith("<math"))
    text = mathml_text(mathml)
    assert re.sub(r"\D", "", text) == re.sub(r"\D", "", tex)


def test_a_formula_nested_past_any_hand_written_one_is_read_without_recursing_as_deep():
    mathml = render("$" + "{" * 800 + "x + 1" + "}" * 800 + "$", glossary=False).html
    assert mathml.count("<mrow>") > 800
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(MAX_MATHML_DEPTH * 4)  # far less than 800 levels need
    try:
        assert mathml_text(mathml) == "x + 1"
    finally:
        sys.setrecursionlimit(limit)


def test_known_concept_link_resolves_and_unknown_is_flagged():
    rendered = render(
        "See [[tcp]], [[tcp|the TCP page]], [[tcp#three-way-handshake|handshake]] "
        "and [[no-such-page]]."
    )
    assert '<a class="internal-link" href="/concepts/tcp/">' in rendered.html
    assert ">the TCP page</a>" in rendered.html
    assert 'href="/concepts/tcp/#three-way-handshake"' in rendered.html
    assert 'class="broken-link"' in rendered.html
    assert rendered.broken_links == ["no-such-page"]


def test_link_with_escaped_pipe_works_inside_a_table():
    html = render("| a | b |\n|---|---|\n| [[tcp\\|TCP]] | x |\n").html
    assert '<td><a class="internal-link" href="/concepts/tcp/">TCP</a></td>' in html


def test_each_render_finds_the_glossary_pattern_by_its_list_and_sees_a_new_one(monkeypatch):
    """glossary_terms() gives every render the same list until the content changes: the
    pattern is found by that list's identity, without walking its terms; a new list (the
    content changed) is read afresh."""
    from apps.core.markdown import glossary_links

    terms = [("Kafka", "/concepts/kafka/")]
    pattern, urls = glossary_links._pattern_of(terms)
    assert pattern.search("We stream with Kafka.") and urls == {"kafka": "/concepts/kafka/"}

    def walked(_terms):
        raise AssertionError("the glossary's terms were walked again")

    monkeypatch.setattr(glossary_links, "_term_pattern", walked)
    assert glossary_links._pattern_of(terms) == (pattern, urls)
    monkeypatch.undo()

    changed = [*terms, ("Flink", "/concepts/flink/")]
    pattern, urls = glossary_links._pattern_of(changed)
    assert pattern.search("Or with Flink.") and urls["flink"] == "/concepts/flink/"
