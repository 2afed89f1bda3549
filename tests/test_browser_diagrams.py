"""Architecture diagrams in a real browser: the live preview as you type, autosave, the doc view.

The server's side (the allowlist, limits, conflicts, privacy, export) is in test_diagrams.py.
"""

import re
import time

import pytest

from apps.designdocs.models import DesignDoc, Diagram
from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def writer(site, browser, site_user, request):
    """A signed-in browser context and a fresh doc of its user's."""
    name = re.sub(r"\W", "", request.node.name)[-28:]
    user = site_user(name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=user, title="Feed ranking", problem="p")
    yield page, context, doc
    context.close()


def stored_source(site, diagram, expected, timeout=8.0) -> str:
    deadline = time.monotonic() + timeout
    source = None
    while time.monotonic() < deadline:
        with site.unblock():
            source = Diagram.objects.get(pk=diagram.pk).source
        if source == expected:
            break
        time.sleep(0.1)
    return source


def test_adding_a_starter_then_typing_draws_a_preview_saves_and_shows_in_the_doc(site, writer):
    page, _, doc = writer
    page.goto(f"{site.url}/docs/{doc.pk}/")
    page.get_by_text("Add an architecture diagram").click()
    page.fill("#id_diagram-title", "Serving path")
    page.select_option("#id_diagram-starter", "retrieval")
    page.get_by_role("button", name="Add the diagram").click()
    page.wait_for_url(re.compile(r".*/diagrams/\d+/$"))
    with site.unblock():
        diagram = doc.diagrams.get()
    key = diagram.key
    preview = page.locator(f"#preview-{key}")
    assert preview.locator("svg text", has_text="re-ranking").count() == 1, "the starter is drawn"
    assert_no_axe_violations(page)

    page.fill(f"#f-{key}", 'client -> load balancer -> ranker [label="top 500"]')
    preview.locator("svg text", has_text="load balancer").wait_for()
    assert preview.locator("svg text", has_text="top 500").count() == 2, "on each arrow, as in DOT"
    assert preview.locator("svg text", has_text="re-ranking").count() == 0
    page.locator(f"#status-{key}").get_by_text("Saved at").wait_for()
    expected = 'client -> load balancer -> ranker [label="top 500"]'
    assert stored_source(site, diagram, expected) == expected

    page.reload()
    assert page.input_value(f"#f-{key}") == expected
    page.goto(f"{site.url}/docs/{doc.pk}/")
    figure = page.locator(f"#diagram-{diagram.pk}")
    assert figure.get_by_role("img", name="Serving path").is_visible()
    assert figure.locator("svg text", has_text="load balancer").count() == 1
    assert_no_axe_violations(page)


def test_bad_dot_gets_graphvizs_message_at_the_field_and_the_text_is_kept(site, writer):
    page, _, doc = writer
    with site.unblock():
        diagram = Diagram.start(doc, "Raw DOT", "a -> b")
    page.goto(site.url + diagram.get_absolute_url())
    key = diagram.key
    page.locator(f"#preview-{key} svg").wait_for()
    page.fill(f"#f-{key}", 'digraph {\n  a [image="/etc/passwd"]\n}')
    error = page.locator(f"#error-{key}")
    error.get_by_text("Line 2: the attribute “image” is not allowed").wait_for()
    assert page.locator(f"#preview-{key} svg").count() == 0
    page.locator(f"#status-{key}").get_by_text("Saved as typed").wait_for()
    assert "image" in stored_source(site, diagram, 'digraph {\n  a [image="/etc/passwd"]\n}')
    assert_no_axe_violations(page)

    page.fill(f"#f-{key}", "digraph {\n  a -> \n}")
    error.get_by_text("Syntax error in line 3").wait_for()
    page.fill(f"#f-{key}", "digraph {\n  a -> b\n}")
    page.locator(f"#preview-{key} svg").wait_for()
    assert error.inner_text().strip() == ""


def test_a_save_from_another_tab_shows_both_texts_and_keeps_mine_in_the_field(site, writer):
    page, context, doc = writer
    with site.unblock():
        diagram = Diagram.start(doc, "Two tabs", "a -> b")
    key = diagram.key
    other = context.new_page()
    other.on("dialog", lambda dialog: dialog.accept())
    page.goto(site.url + diagram.get_absolute_url())
    other.goto(site.url + diagram.get_absolute_url())
    other.fill(f"#f-{key}", "saved -> by the other tab")
    other.locator(f"#status-{key}").get_by_text("Saved at").wait_for()
    page.fill(f"#f-{key}", "typed -> in this tab")
    conflict = page.locator(f"#status-{key}.conflict")
    conflict.wait_for()
    assert "saved -> by the other tab" in conflict.inner_text()
    assert page.input_value(f"#f-{key}") == "typed -> in this tab"
    conflict.get_by_role("button", name="Keep my text").click()
    page.locator(f"#status-{key}").get_by_text("Saved at").wait_for()
    assert stored_source(site, diagram, "typed -> in this tab") == "typed -> in this tab"


def test_a_diagram_too_long_to_save_is_called_a_diagram_and_its_text_is_kept(site, writer):
    page, _, doc = writer
    with site.unblock():
        diagram = Diagram.start(doc, "Pasted", "a -> b")
    page.goto(site.url + diagram.get_absolute_url())
    key = diagram.key
    page.locator(f"#preview-{key} svg").wait_for()
    pasted = "a -> b; " * 2724 + "c->"
    assert len(pasted) == 21_795
    page.fill(f"#f-{key}", pasted)  # one line: Chromium fills thousands of lines slowly
    status = page.locator(f"#status-{key}")
    said = "Not saved: this diagram is 21,795 characters and the limit is 20,000."
    status.get_by_text(said).wait_for()
    assert "answer" not in status.inner_text()
    assert page.input_value(f"#f-{key}") == pasted, "the text stays in the field"
    with site.unblock():
        assert Diagram.objects.get(pk=diagram.pk).source == "a -> b"
    assert_no_axe_violations(page)
