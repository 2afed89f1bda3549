"""Architecture diagrams: the notations, the allowlist, Graphviz's limits, the clean SVG, and
the views (autosave and conflicts as for answers, preview, privacy, export).

The browser's side (typing, the live preview, "Saved at") is in test_browser_diagrams.py.
"""

import base64
import io
import random
import re
import time
import zipfile
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.designdocs import diagrams, dot
from apps.designdocs.diagrams import STARTERS, clean_svg, draw, run_graphviz
from apps.designdocs.dot import DiagramError, compile_source, notation_of, parse_arrows
from apps.designdocs.models import DIAGRAM_MAX_CHARS, DIAGRAMS_PER_DOC, DesignDoc, Diagram


def compiled(source: str) -> str:
    return compile_source(source)[1]


def refusal(source: str) -> str:
    with pytest.raises(DiagramError) as caught:
        compile_source(source)
    return str(caught.value)


# --- The arrow shorthand ---------------------------------------------------------------------


def test_a_chain_of_names_with_spaces_compiles_to_quoted_dot_with_the_edge_label():
    text = compiled('client -> load balancer -> ranker [label="top 500"]')
    assert text.startswith("digraph {")
    assert '"client" -> "load balancer" -> "ranker" ["label"="top 500"];' in text


def test_shorthand_comments_node_styles_and_graph_attributes():
    text = compiled(
        '# the serving path\nrankdir = LR\nfeature   store [shape=cylinder]\n"a -> b" -> c\n\n'
    )
    assert "the serving path" not in text
    assert 'graph ["rankdir"="LR"];' in text
    assert '"feature store" ["shape"="cylinder"];' in text, "inner spaces collapse"
    assert '"a -> b" -> "c";' in text, "a quoted name may hold an arrow"


def test_shorthand_names_its_line_when_a_name_is_missing():
    assert refusal("a -> b\nb ->") == "Line 2: a name is missing after “->”."
    assert refusal("-> b") == "Line 1: a name is missing before “->”."


def test_shorthand_and_dot_are_told_apart_by_the_opening_graph():
    assert notation_of("client -> server") == dot.ARROWS
    assert notation_of("// a comment\ndigraph G {\n a -> b }") == dot.DOT
    assert notation_of("strict graph {}") == dot.DOT
    assert notation_of("graph -> db") == dot.ARROWS


def test_every_starter_is_shorthand_that_draws():
    for key, starter in STARTERS.items():
        drawing = draw(starter.source)
        assert drawing.error == "", key
        if starter.source:
            assert drawing.notation == dot.ARROWS
            chain = next(line for line in starter.source.splitlines() if " -> " in line)
            first = chain.split(" -> ")[0]
            assert f">{first}<" in drawing.svg, key


# --- DOT, read strictly ----------------------------------------------------------------------


def test_dot_is_written_anew_from_what_was_read():
    text = compiled(
        "digraph G { rankdir=LR; node [shape=box]\n"
        "  a -> {b c} [color=red]\n"
        '  subgraph cluster_x { label="X"; d:p:ne }  /* a comment */\n'
        '  "a \\"quoted\\" name" -> d // another\n'
        "}"
    )
    assert 'graph ["rankdir"="LR"];' in text
    assert '"a" -> {' in text and '["color"="red"];' in text
    assert 'subgraph "cluster_x" {' in text and '"d":"p":"ne";' in text
    assert '"a \\"quoted\\" name" -> "d";' in text
    assert "comment" not in text and "another" not in text


@pytest.mark.parametrize(
    "attribute", ["image", "shapefile", "fontpath", "imagepath", "URL", "href", "stylesheet"]
)
def test_attributes_that_read_files_or_link_are_refused_wherever_they_are_written(attribute):
    for source in [
        f'digraph {{ a [{attribute}="/etc/passwd"] }}',
        f'digraph {{ node [label="x", {attribute}="/etc/passwd"]; a }}',
        f'digraph {{ {attribute}="/etc/passwd"; a }}',
        f'digraph {{ subgraph s {{ graph [{attribute}="/etc"] }} }}',
        f'a -> b [{attribute}="/etc/passwd"]',
        f"{attribute} = /etc/passwd",
    ]:
        message = refusal(source)
        assert f"the attribute “{attribute}” is not allowed" in message, source
        assert "may not read files, link elsewhere" in message


def test_an_unknown_attribute_is_refused_and_the_allowlist_is_named():
    message = refusal("digraph { a [frobnicate=1] }")
    assert message.startswith("Line 1: “frobnicate” is not an attribute diagrams here can use.")
    assert "listed under the field" in message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("digraph { a [shape=epsf] }", "shape cannot be “epsf”"),
        ("digraph { a [shape=custom] }", "shape cannot be “custom”"),
        ('digraph { a [style="setlinewidth(9)"] }', "style cannot be “setlinewidth(9)”"),
        ('digraph { a [fontname="/etc/passwd"] }', "fontname cannot be “/etc/passwd”"),
        ('digraph { a [color="red:blue"] }', "color cannot be “red:blue”"),
        ("digraph { a [fontsize=100000] }", "fontsize cannot be “100000”; use a number from 1"),
    ],
)
def test_allowed_attributes_take_only_allowed_values(source, message):
    assert message in refusal(source)


def test_html_labels_are_refused_with_a_clear_message():
    for source in [
        'digraph { a [label=<<img src="/etc/passwd"/>>] }',
        "a -> b [label=<<b>x</b>>]",
    ]:
        assert refusal(source) == (
            "Line 1: HTML-like labels (<…>) are not allowed; write the label in double quotes, "
            'e.g. label="top 500".'
        )


def test_a_quote_inside_a_label_cannot_smuggle_an_attribute_to_graphviz():
    source = 'digraph { a [label="x\\", image=\\"/etc/passwd"] }'
    text = compiled(source)
    assert '["label"="x\\", image=\\"/etc/passwd"];' in text
    svg = draw(source).svg
    assert "<image" not in svg and 'x", image="/etc/passwd' in svg.replace("&quot;", '"')


def test_syntax_errors_name_the_line_and_token_as_graphviz_does():
    assert refusal("digraph {\n a -> \n}") == "Syntax error in line 3 near “}”."
    assert refusal("digraph { a -> b") == "Syntax error in line 1 near the end."
    assert "a graph joins nodes with --" in refusal("graph { a -> b }")
    assert refusal("digraph { a } digraph { b }").startswith("Line 1: one graph per diagram")
    assert refusal('digraph { a [label="open }') == (
        'Line 1: a quoted name or label is never closed with ".'
    )


def test_size_limits_are_stated():
    many_nodes = "digraph {" + ";".join(f"n{i}" for i in range(dot.MAX_NODES + 1)) + "}"
    assert f"more than {dot.MAX_NODES} nodes" in refusal(many_nodes)
    many_edges = "digraph {" + ";".join(f"a -> b{i % 50}" for i in range(401)) + "}"
    assert f"more than {dot.MAX_EDGES} edges" in refusal(many_edges)
    a_clique = "digraph { {" + " ".join(f"n{i}" for i in range(30)) + "} -> {"
    a_clique += " ".join(f"m{i}" for i in range(30)) + "} }"
    assert f"more than {dot.MAX_EDGES} edges" in refusal(a_clique), "subgraph ends multiply"
    deep = "digraph { " + "{ " * 20 + "a" + " }" * 20 + " }"
    assert f"subgraphs nest at most {dot.MAX_DEPTH} deep" in refusal(deep)
    assert "more than 200 nodes" in str(_arrows("\n".join(f"s{i} -> t{i}" for i in range(150))))


def _arrows(text: str) -> DiagramError:
    with pytest.raises(DiagramError) as caught:
        parse_arrows(text)
    return caught.value


# --- Graphviz, run with limits ---------------------------------------------------------------


def test_graphvizs_own_message_comes_back_when_it_refuses_the_dot():
    with pytest.raises(DiagramError) as caught:
        run_graphviz("digraph { a -> }")
    assert str(caught.value).startswith("Graphviz: syntax error in line 1 near '}'")


PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_graphviz_runs_in_safe_mode_and_reads_no_file_even_if_asked(tmp_path, monkeypatch):
    # Past the allowlist (which would refuse it) straight to Graphviz: its safe mode holds too.
    image = tmp_path / "pixel.png"
    image.write_bytes(PIXEL_PNG)
    source = f'digraph {{ a [image="{image}", label=""] }}'
    assert b"<image" not in run_graphviz(source)
    # The check can fail: without SERVER_NAME, Graphviz reads the file and links it.
    unsafe = {k: v for k, v in diagrams._ENVIRONMENT.items() if k != "SERVER_NAME"}
    monkeypatch.setattr(diagrams, "_ENVIRONMENT", unsafe)
    assert b"<image" in run_graphviz(source)


def test_a_diagram_graphviz_cannot_lay_out_in_time_is_stopped_with_a_message():
    pick = random.Random(7).randrange  # a tangle within the size limits: minutes for Graphviz
    edges = " ".join(f"n{pick(150)} -> n{pick(150)};" for _ in range(400))
    started = time.monotonic()
    drawing = draw(f"digraph {{ splines=ortho; {edges} }}")
    elapsed = time.monotonic() - started
    assert drawing.svg == ""
    assert drawing.error.startswith("Graphviz took more than 2 seconds to lay this diagram out")
    assert elapsed < 10


def test_a_drawing_past_the_output_limit_is_stopped_with_a_message(monkeypatch):
    monkeypatch.setattr(diagrams, "OUTPUT_LIMIT", 4096)
    drawing = draw(STARTERS["features"].source)
    assert drawing.svg == "" and drawing.error.startswith("The drawing passed")


def test_ten_thousand_nodes_are_refused_by_size_before_graphviz_runs(monkeypatch):
    monkeypatch.setattr(diagrams, "run_graphviz", lambda dot: pytest.fail("Graphviz ran"))
    drawing = draw("digraph {" + ";".join(f"n{i}" for i in range(2_000)) + "}")
    assert drawing.error.startswith("Line 1: more than 200 nodes")
    drawing = draw("digraph {" + ";".join(f"n{i}" for i in range(10_000)) + "}")
    assert drawing.error.startswith("Not drawn: this diagram is 58,899 characters")


# --- The SVG that reaches a page ---------------------------------------------------------------

HOSTILE_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="90pt" height="40pt" viewBox="0 0 90 40" onload="alert(1)">
<script>alert(2)</script>
<style>* { background: url(https://evil.example/) }</style>
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 36)" style="x">
<title>%3</title>
<a xlink:href="javascript:alert(3)" href="https://evil.example/" target="_top">
  <g class="node" onclick="alert(4)"><title>a</title>
  <ellipse fill="url(https://evil.example/#x)" stroke="black" cx="27" cy="-18" rx="27" ry="18"/>
  <text x="27" y="-14" font-family="Helvetica" onmouseover="alert(5)">a &amp;foo; b</text>
  </g>
</a>
<image xlink:href="file:///etc/passwd" width="10" height="10"/>
<foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
<use href="https://evil.example/sprite.svg#x"/>
<animate attributeName="href" to="javascript:alert(6)"/>
<polygon fill="javascript:alert(7)" stroke="black" points="0,0 1,1"/>
</g>
</svg>"""


def test_the_svg_keeps_the_drawing_and_loses_everything_executable():
    svg = clean_svg(HOSTILE_SVG)
    lowered = svg.lower()
    for word in ["script", "alert", "style", "foreignobject", "image", "<use", "animate",
                 "href", "evil", "javascript", "url(", " on", "target", 'id="']:  # fmt: skip
        assert word not in lowered, word
    root = ElementTree.fromstring(svg)
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= {"svg", "g", "title", "ellipse", "text", "polygon"}
    assert ">a &amp;foo; b</text>" in svg, "the link's drawing stays; a stray & is text"
    assert 'viewBox="0 0 90 40"' in svg and 'width="90pt"' in svg


def test_graphvizs_svg_for_a_starter_passes_the_same_filter():
    svg = draw(STARTERS["retrieval"].source).svg
    assert re.search(r"<(script|foreignObject|image|a|style)\b", svg) is None
    assert re.search(r"\son\w+=", svg) is None and "href" not in svg
    assert svg.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in svg


# --- Views ---------------------------------------------------------------------------------------


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Feed ranking", problem="Rank posts.")


@pytest.fixture
def diagram(doc):
    return Diagram.start(doc, "Serving path", "client -> ranker")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def save(client, diagram, source, version, *, tab="", seq=0, query="", htmx=True):
    return client.post(
        f"/docs/{diagram.doc_id}/diagrams/{diagram.pk}/save/{query}",
        {diagram.key: source, f"version_{diagram.key}": version, "tab": tab, "seq": seq},
        headers={"HX-Request": "true"} if htmx else {},
    )


def preview(client, diagram, source):
    return client.post(
        f"/docs/{diagram.doc_id}/diagrams/{diagram.pk}/preview/",
        {diagram.key: source},
        headers={"HX-Request": "true"},
    )


def error_at_field(response, diagram) -> str:
    match = re.search(rf'<div class="field-error" id="error-{diagram.key}"[^>]*>(.*?)</div>',
                      response.text, re.S)  # fmt: skip
    assert match, response.text
    return match.group(1)


@pytest.mark.django_db
def test_adding_a_diagram_from_a_starter_draws_it_and_opens_its_editor(signed_in, doc):
    page = signed_in.get(f"/docs/{doc.pk}/")
    assert "Add an architecture diagram" in page.text and "Feature pipeline" in page.text
    response = signed_in.post(
        f"/docs/{doc.pk}/diagrams/new/",
        {"diagram-title": "Features", "diagram-starter": "features"},
    )
    diagram = doc.diagrams.get()
    assert response.status_code == 302 and response.url == f"/docs/{doc.pk}/diagrams/{diagram.pk}/"
    assert diagram.source == STARTERS["features"].source and diagram.version == 1
    assert diagram.svg.startswith("<svg") and diagram.error == ""
    editor = signed_in.get(response.url)
    assert editor.status_code == 200
    assert f'data-autosave="/docs/{doc.pk}/diagrams/{diagram.pk}/save/"' in editor.text
    assert f'id="version-{diagram.key}" value="1"' in editor.text
    assert f'id="status-{diagram.key}"' in editor.text
    assert 'hx-trigger="input changed delay:500ms"' in editor.text


@pytest.mark.django_db
def test_a_diagram_needs_a_title_and_a_doc_holds_a_bounded_number(signed_in, doc):
    response = signed_in.post(f"/docs/{doc.pk}/diagrams/new/", {"diagram-title": "  "})
    assert response.status_code == 400 and "Give the diagram a title." in response.text
    for n in range(DIAGRAMS_PER_DOC):
        Diagram.start(doc, f"D{n}")
    response = signed_in.post(f"/docs/{doc.pk}/diagrams/new/", {"diagram-title": "One more"})
    assert response.status_code == 400
    assert f"A doc holds at most {DIAGRAMS_PER_DOC} diagrams" in response.text
    assert doc.diagrams.count() == DIAGRAMS_PER_DOC


@pytest.mark.django_db
def test_autosave_saves_draws_and_reports_like_an_answer(signed_in, diagram):
    response = save(signed_in, diagram, "client -> ranker -> re-ranker", 1)
    assert response.status_code == 200 and "Saved at" in response.text
    assert f'id="version-{diagram.key}" value="2" hx-swap-oob="true"' in response.text
    diagram.refresh_from_db()
    assert diagram.source == "client -> ranker -> re-ranker" and diagram.version == 2
    assert ">re-ranker</text>" in diagram.svg
    page = signed_in.get(f"/docs/{diagram.doc_id}/")
    assert ">re-ranker</text>" in page.text and 'aria-label="Serving path"' in page.text


@pytest.mark.django_db
def test_bad_dot_is_saved_as_typed_with_graphvizs_message_at_the_field(signed_in, diagram):
    response = save(signed_in, diagram, "digraph {\n a -> \n}", 1)
    assert response.status_code == 200
    assert "Saved as typed" in response.text
    assert "Syntax error in line 3 near “}”." in error_at_field(response, diagram)
    diagram.refresh_from_db()
    assert diagram.source == "digraph {\n a -> \n}" and diagram.svg == ""
    assert diagram.notation == "dot" and diagram.error == "Syntax error in line 3 near “}”."
    editor = signed_in.get(diagram.get_absolute_url())
    assert "Syntax error in line 3 near “}”." in error_at_field(editor, diagram)
    assert 'aria-invalid="true"' in editor.text
    assert "Not drawn: Syntax error" in signed_in.get(f"/docs/{diagram.doc_id}/").text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("digraph { a -> }", "Syntax error in line 1 near “}”."),
        ('digraph { a [image="/etc/passwd"] }', "the attribute “image” is not allowed"),
        ("a -> b [label=<<b>x</b>>]", "HTML-like labels (&lt;…&gt;) are not allowed"),
    ],
)
def test_the_live_preview_shows_the_message_at_the_field_never_a_500(
    signed_in, diagram, source, message
):
    response = preview(signed_in, diagram, source)
    assert response.status_code == 200
    assert message in error_at_field(response, diagram)
    assert 'hx-swap-oob="true"' in response.text and "Not drawn" in response.text
    diagram.refresh_from_db()
    assert diagram.source == "client -> ranker", "a preview saves nothing"


@pytest.mark.django_db
def test_the_live_preview_draws_unsaved_text(signed_in, diagram):
    response = preview(signed_in, diagram, 'user -> retrieval [label="top 1,000"]')
    assert response.status_code == 200
    assert f'id="preview-{diagram.key}"' in response.text
    assert ">top 1,000</text>" in response.text and "<svg" in response.text
    assert error_at_field(response, diagram) == ""


@pytest.mark.django_db
def test_a_huge_diagram_is_refused_with_its_size_at_preview_and_save(signed_in, diagram):
    huge = "digraph {" + ";".join(f"node{i}" for i in range(10_000)) + "}"
    assert len(huge) > DIAGRAM_MAX_CHARS
    response = preview(signed_in, diagram, huge)
    assert response.status_code == 200
    assert f"limit is {DIAGRAM_MAX_CHARS:,}" in error_at_field(response, diagram)
    response = save(signed_in, diagram, huge, 1)
    assert response.status_code == 413 and f"the limit is {DIAGRAM_MAX_CHARS:,}" in response.text
    diagram.refresh_from_db()
    assert diagram.source == "client -> ranker" and diagram.version == 1


@pytest.mark.django_db
def test_a_refused_huge_diagram_is_shown_back_unparsed_without_javascript(
    signed_in, diagram, monkeypatch
):
    from apps.designdocs import diagrams

    def never(text):
        raise AssertionError(f"parsed {len(text):,} characters")

    monkeypatch.setattr(diagrams, "compile_source", never)
    huge = "client -> ranker\n" + "\n" * 2_000_000
    response = signed_in.post(  # the form's own POST, as without JavaScript
        f"/docs/{diagram.doc_id}/diagrams/{diagram.pk}/",
        {diagram.key: huge, f"version_{diagram.key}": 1},
    )
    assert response.status_code == 413
    assert f"the limit is {DIAGRAM_MAX_CHARS:,}" in response.text
    assert "client -&gt; ranker" in response.text  # the text is shown back, not lost


@pytest.mark.django_db
def test_previews_are_throttled_per_user_with_a_message(signed_in, diagram, monkeypatch):
    from apps.accounts.throttle import Limit
    from apps.designdocs import diagram_views

    monkeypatch.setattr(diagram_views, "PREVIEWS_PER_USER", Limit("diagram-preview-test", 2, 60))
    assert preview(signed_in, diagram, "a -> b").status_code == 200
    assert preview(signed_in, diagram, "a -> c").status_code == 200
    response = preview(signed_in, diagram, "a -> d")
    assert response.status_code == 429 and "Preview paused" in response.text


# --- The same conflict rules as answers --------------------------------------------------------


@pytest.mark.django_db
def test_a_save_from_another_tab_on_an_old_version_is_a_409_with_both_texts(signed_in, diagram):
    assert save(signed_in, diagram, "client -> A", 1, tab="tab-a", seq=1).status_code == 200
    response = save(signed_in, diagram, "client -> B", 1, tab="tab-b", seq=1)
    assert response.status_code == 409
    assert "changed in another tab" in response.text
    assert "client -&gt; A" in response.text and "client -&gt; B" in response.text
    assert (
        'data-keep-version="2"' in response.text and "Use the saved text instead" in response.text
    )
    diagram.refresh_from_db()
    assert diagram.source == "client -> A" and diagram.version == 2
    # The writer saw both and kept theirs.
    response = save(signed_in, diagram, "client -> B", 1, tab="tab-b", seq=2, query="?keep=2")
    assert response.status_code == 200
    diagram.refresh_from_db()
    assert diagram.source == "client -> B" and diagram.version == 3


@pytest.mark.django_db
def test_a_tabs_own_saves_never_conflict_and_a_late_retry_never_wins(signed_in, diagram):
    assert save(signed_in, diagram, "a -> b", 1, tab="T", seq=1).status_code == 200
    assert save(signed_in, diagram, "a -> b -> c", 1, tab="T", seq=2).status_code == 200
    late = save(signed_in, diagram, "a -> b", 1, tab="T", seq=1)
    assert late.status_code == 200
    diagram.refresh_from_db()
    assert diagram.source == "a -> b -> c" and diagram.version == 3


@pytest.mark.django_db
def test_plain_post_saves_and_its_conflict_shows_both_texts(signed_in, diagram):
    url = diagram.get_absolute_url()
    response = signed_in.post(url, {diagram.key: "x -> y", f"version_{diagram.key}": "1"})
    assert response.status_code == 302 and response.url == url
    response = signed_in.post(
        url, {diagram.key: "x -> z", f"version_{diagram.key}": "1", "go": "document"}
    )
    assert response.status_code == 409
    assert "x -&gt; y" in response.text and "x -&gt; z</textarea>" in response.text
    assert f'id="version-{diagram.key}" value="1"' in response.text
    response = signed_in.post(
        url, {diagram.key: "x -> z", f"version_{diagram.key}": "1", "keep": f"{diagram.key}:2"}
    )
    assert response.status_code == 302
    diagram.refresh_from_db()
    assert diagram.source == "x -> z"


@pytest.mark.django_db
def test_the_beacon_sent_as_the_page_closes_saves_only_what_it_carries(signed_in, diagram):
    url = diagram.get_absolute_url()
    save(signed_in, diagram, "a -> b", 1, tab="T", seq=1)
    # Everything was acknowledged: the beacon carries no source, and nothing changes.
    response = signed_in.post(url, {"tab": "T", "seq": "2", "go": "left"})
    assert response.status_code == 204
    diagram.refresh_from_db()
    assert diagram.source == "a -> b" and diagram.version == 2
    # Unacknowledged text rides on the beacon and is saved; no message waits for a next page.
    data = {diagram.key: "a -> b -> c", f"version_{diagram.key}": "2", "tab": "T", "seq": "3"}
    response = signed_in.post(url, {**data, "go": "left"})
    assert response.status_code == 204
    diagram.refresh_from_db()
    assert diagram.source == "a -> b -> c"
    assert "Saved the diagram." not in signed_in.get(f"/docs/{diagram.doc_id}/").text


@pytest.mark.django_db
def test_without_graphviz_the_text_is_saved_and_the_field_says_why_nothing_is_drawn(
    signed_in, diagram, monkeypatch
):
    monkeypatch.setattr(diagrams.shutil, "which", lambda name: None)
    response = save(signed_in, diagram, "a -> b", 1)
    assert response.status_code == 200
    assert "Graphviz is not installed on the server" in error_at_field(response, diagram)
    diagram.refresh_from_db()
    assert diagram.source == "a -> b" and diagram.svg == ""


@pytest.mark.django_db
def test_a_bad_version_is_a_400_with_json(signed_in, diagram):
    response = save(signed_in, diagram, "a -> b", "abc")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == [f"version_{diagram.key}"]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [True, False])
def test_a_version_past_what_the_database_holds_is_a_400_not_a_crash(signed_in, diagram, htmx):
    response = save(signed_in, diagram, "a -> b", str(2**63 - 1), htmx=htmx)
    assert response.status_code == 400
    assert "whole number from 0" in response.json()["detail"][0]["msg"]
    diagram.refresh_from_db()
    assert diagram.source == "client -> ranker"


@pytest.mark.django_db
def test_a_save_that_sends_the_source_as_a_file_saves_nothing(signed_in, diagram):
    data = {diagram.key: SimpleUploadedFile("a.dot", b"x -> y"), f"version_{diagram.key}": 1}
    response = signed_in.post(f"{diagram.get_absolute_url()}save/", data)
    assert response.status_code == 400
    assert "nothing was saved" in response.json()["detail"][0]["msg"]
    diagram.refresh_from_db()
    assert diagram.source == "client -> ranker"


@pytest.mark.django_db
def test_rename_and_delete(signed_in, diagram):
    url = diagram.get_absolute_url()
    response = signed_in.post(f"{url}rename/", {"title": "  "})
    assert response.status_code == 400 and "Give the diagram a title." in response.text
    assert signed_in.post(f"{url}rename/", {"title": "Online path"}).status_code == 302
    diagram.refresh_from_db()
    assert diagram.title == "Online path"
    response = signed_in.post(f"{url}delete/")
    assert response.status_code == 302 and response.url == f"/docs/{diagram.doc_id}/#diagrams"
    assert not Diagram.objects.filter(pk=diagram.pk).exists()


# --- Privacy and methods -------------------------------------------------------------------------


def diagram_urls(diagram):
    base = f"/docs/{diagram.doc_id}/diagrams/"
    read = [f"{base}{diagram.pk}/"]
    write = [f"{base}new/", *(f"{base}{diagram.pk}/{action}/"
                              for action in ("save", "preview", "rename", "delete"))]  # fmt: skip
    return read, write


@pytest.mark.django_db
def test_a_stranger_gets_404_on_every_diagram_url_for_every_method(client, diagram, bob):
    read, write = diagram_urls(diagram)
    client.force_login(bob)
    for url in read + write:
        assert client.get(url).status_code == 404, f"GET {url}"
        data = {diagram.key: "stolen", f"version_{diagram.key}": "1", "title": "x"}
        assert client.post(url, data).status_code == 404, f"POST {url}"
    diagram.refresh_from_db()
    assert (diagram.title, diagram.source) == ("Serving path", "client -> ranker")
    assert Diagram.objects.count() == 1


@pytest.mark.django_db
def test_a_diagram_of_another_doc_of_the_owner_is_404(signed_in, diagram, alice):
    other = DesignDoc.objects.create(owner=alice, title="Other")
    assert signed_in.get(f"/docs/{other.pk}/diagrams/{diagram.pk}/").status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_and_get_is_405_on_mutations(
    client, signed_in, diagram
):
    read, write = diagram_urls(diagram)
    for url in write:
        assert signed_in.get(url).status_code == 405, url
    signed_in.logout()
    for url in read + write:
        response = client.post(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url


# --- The document, its export and the zip --------------------------------------------------------


@pytest.mark.django_db
def test_export_keeps_each_diagrams_source_in_a_fenced_dot_block(signed_in, doc):
    Diagram.start(doc, "Serving path", 'client -> ranker [label="top 500"]')
    Diagram.start(doc, "Raw", "digraph {\n  a -> b\n}")
    Diagram.start(doc, "Broken", "digraph { a -> }")
    text = signed_in.get(f"/docs/{doc.pk}/export.md").content.decode()
    tail = text.split("## Architecture diagrams", 1)[1]
    assert "### Serving path\n\n```dot\n// Written as arrow shorthand:\n" in tail
    assert '// client -> ranker [label="top 500"]\n' in tail
    assert '"client" -> "ranker" ["label"="top 500"];' in tail
    assert "### Raw\n\n```dot\ndigraph {\n  a -> b\n}\n```" in tail
    assert "_Not drawn: Syntax error in line 1 near “}”._\n\n```text\ndigraph { a -> }\n```" in tail


@pytest.mark.django_db
def test_the_zip_holds_each_diagram_as_an_svg_file_beside_its_doc(signed_in, doc):
    Diagram.start(doc, "Serving path", "client -> ranker")
    Diagram.start(doc, "Broken", "digraph { a -> }")
    Diagram.start(doc, "Training", STARTERS["training"].source)
    response = signed_in.get("/docs/export.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    stem = f"{doc.pk:05d}-feed-ranking"
    assert sorted(archive.namelist()) == [
        f"{stem}-diagram-1.svg", f"{stem}-diagram-3.svg", f"{stem}.md",
    ]  # fmt: skip
    svg = archive.read(f"{stem}-diagram-3.svg").decode()
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "model registry" in svg and "<script" not in svg
    assert "## Architecture diagrams" in archive.read(f"{stem}.md").decode()


@pytest.mark.django_db
def test_the_doc_view_costs_one_query_for_its_diagrams_however_many(signed_in, doc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert signed_in.get(f"/docs/{doc.pk}/").status_code == 200
        return len(context.captured_queries)

    Diagram.start(doc, "One", "a -> b")
    signed_in.get("/docs/")  # the header's count of cards due is cached for a minute
    one = queries()
    for n in range(5):
        Diagram.start(doc, f"More {n}", "a -> b")
    assert queries() == one


def test_a_refused_diagram_text_and_the_text_keep_replaces_are_both_in_the_history(
    signed_in, diagram
):
    save(signed_in, diagram, "client -> A", 1, tab="tab-a", seq=1)
    assert save(signed_in, diagram, "client -> B", 1, tab="tab-b", seq=1).status_code == 409
    texts = [
        r.snapshot.get("diagrams", {}).get(str(diagram.pk)) for r in diagram.doc.revisions.all()
    ]
    assert "client -> B" in texts, "the refused text is kept"
    save(signed_in, diagram, "client -> B", 1, tab="tab-b", seq=2, query="?keep=2")
    texts = [
        r.snapshot.get("diagrams", {}).get(str(diagram.pk)) for r in diagram.doc.revisions.all()
    ]
    assert "client -> A" in texts, "the other tab's text is kept before it is replaced"
    doc = diagram.doc
    older, newer = doc.revisions.order_by("created_at", "pk")[0], doc.revisions.first()
    page = signed_in.get(f"/docs/{doc.pk}/history/?a={older.pk}&b={newer.pk}")
    assert f"Diagram: {diagram.title}" in page.text


def test_deleting_a_diagram_is_in_the_history_and_restoring_brings_it_back(signed_in, diagram):
    save(signed_in, diagram, "client -> ranker -> cache", 1, tab="t", seq=1)
    doc, pk = diagram.doc, diagram.pk
    response = signed_in.post(f"{diagram.get_absolute_url()}delete/")
    assert response.status_code == 302 and not doc.diagrams.exists()
    deleted, before = doc.revisions.all()[:2]
    assert deleted.reason == "Deleted the diagram “Serving path”"
    assert str(pk) not in deleted.snapshot.get("diagrams", {})
    assert before.snapshot["diagrams"][str(pk)] == "client -> ranker -> cache", "its last text"
    page = signed_in.get(f"/docs/{doc.pk}/history/?a={before.pk}&b={deleted.pk}")
    assert "Deleted the diagram “Serving path”" in page.text
    assert "Diagram: Serving path (deleted)" in page.text
    signed_in.post(f"/docs/{doc.pk}/history/{before.pk}/restore/", {"confirm": "yes"})
    assert list(doc.diagrams.values_list("pk", "title", "source")) == [
        (pk, "Serving path", "client -> ranker -> cache")
    ]


def test_duplicating_a_doc_copies_its_diagrams(signed_in, diagram):
    save(signed_in, diagram, "client -> ranker", 1, tab="t", seq=1)
    doc = diagram.doc
    response = signed_in.post(f"/docs/{doc.pk}/duplicate/")
    assert response.status_code == 302
    copy = DesignDoc.objects.exclude(pk=doc.pk).get(owner=doc.owner, title__startswith="Copy of")
    copied = list(copy.diagrams.values_list("title", "source"))
    assert copied == [(diagram.title, "client -> ranker")]
