"""The adapting template and a restore that asks first and can be undone, in a real browser."""

import re

import pytest

from apps.designdocs.models import DesignDoc
from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def writer(site, browser, site_user, request):
    name = re.sub(r"\W", "", request.node.name)[-28:]
    user = site_user(name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=user, title="Adapting", problem="p")
    yield page, doc
    context.close()


def test_choosing_trees_changes_what_training_asks(site, writer):
    page, doc = writer
    page.goto(f"{site.url}/docs/{doc.pk}/steps/model-and-metric-selection/")
    page.select_option("#f-model_family", "trees")
    page.locator("#status-model_family").get_by_text("Saved at").wait_for()
    page.get_by_role("navigation", name="Steps").get_by_role(
        "link", name=re.compile("Model training")
    ).click()
    page.wait_for_url(re.compile(r".*/steps/model-training/$"))
    assert page.locator("#f-tree_ensemble").is_visible()
    assert page.locator("#f-activation").count() == 0
    assert_no_axe_violations(page)
    page.goto(f"{site.url}/docs/{doc.pk}/steps/model-and-metric-selection/")
    page.select_option("#f-model_family", "neural")
    page.locator("#status-model_family").get_by_text("Saved at").wait_for()
    page.goto(f"{site.url}/docs/{doc.pk}/steps/model-training/")
    assert page.locator("#f-activation").is_visible()
    assert page.locator("#f-tree_ensemble").count() == 0


def test_a_restore_is_previewed_confirmed_and_undone(site, writer):
    page, doc = writer
    with site.unblock():
        doc.record_revision("Created")
    page.goto(f"{site.url}/docs/{doc.pk}/steps/problem-clarification/")
    page.fill("#f-business_goal", "Text worth keeping")
    page.locator("#status-business_goal").get_by_text("Saved at").wait_for()
    page.goto(f"{site.url}/docs/{doc.pk}/")
    with site.unblock():
        doc.record_revision("Checkpoint")
    page.goto(f"{site.url}/docs/{doc.pk}/history/")
    created = page.locator("tr", has_text="Created")
    created.get_by_role("link", name="Restore this…").click()
    page.wait_for_url(re.compile(r".*/restore/$"))
    assert "Text worth keeping" in page.locator(".diff").inner_text()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Restore this text").click()
    page.wait_for_url(re.compile(r".*/history/\?undo=\d+$"))
    with site.unblock():
        assert doc.answers.get(prompt__key="business_goal").value == ""
    with page.expect_navigation():
        page.get_by_role("button", name="Undo the restore").click()
    with site.unblock():
        assert doc.answers.get(prompt__key="business_goal").value == "Text worth keeping"
