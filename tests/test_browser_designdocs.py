"""The wizard in a real browser: sign up, write, autosave, reload, pick metrics, export."""

import re
from pathlib import Path

import pytest

from tests.conftest import LateResponse, assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_engineer_signs_up_writes_autosaves_picks_metrics_and_exports(site, page):
    page.goto(site.url + "/accounts/signup/")
    assert_no_axe_violations(page)
    page.fill("#id_username", "erin")
    page.fill("#id_email", "erin@example.com")
    page.fill("#id_password1", "a-long-unusual-pass-88")
    page.fill("#id_password2", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/docs/")
    assert_no_axe_violations(page)

    page.fill("#id_title", "Spam filtering for mail")
    page.fill("#id_problem", "Keep spam out of inboxes without losing real mail.")
    page.get_by_role("button", name="Create and start step 1").click()
    page.wait_for_url(re.compile(r".*/steps/problem-clarification/$"))
    assert_no_axe_violations(page)

    page.fill("#f-business_goal", "Cut spam reaching inboxes by 90 percent.")
    status = page.locator("#status-business_goal")
    status.get_by_text("Saved at").wait_for()
    page.fill("#f-peak_qps", "lots")
    page.locator("#error-business_goal, #error-peak_qps").get_by_text("Enter a number").wait_for()

    page.reload()
    assert page.input_value("#f-business_goal") == "Cut spam reaching inboxes by 90 percent."
    assert page.input_value("#f-peak_qps") == "lots", "invalid text is kept, not dropped"

    page.get_by_role("navigation", name="Steps").get_by_role(
        "link", name=re.compile("Model and metric selection")
    ).click()
    page.wait_for_url(re.compile(r".*/steps/model-and-metric-selection/$"))
    page.select_option("#f-model_type", "binary")
    page.select_option("#f-class_imbalance", "severe")
    page.locator("#status-class_imbalance").get_by_text("Saved at").wait_for()
    options = page.locator("#options-offline_metrics")
    options.get_by_text("Recommended:").first.wait_for()
    assert options.locator('input[value="ndcg"]').count() == 0
    # The picker's status may already say "Saved at" (its refresh after the model type): wait
    # for this pick's own save, or the doc page can be read before it lands.
    with page.expect_response(
        lambda r: "/answers/offline_metrics/" in r.url and r.request.method == "POST"
    ) as saved:
        options.locator('input[value="pr-auc"]').check()
    assert saved.value.status == 200
    page.locator("#status-offline_metrics").get_by_text("Saved at").wait_for()
    assert_no_axe_violations(page)

    page.get_by_role("link", name="View the whole document").click()
    assert "Cut spam reaching inboxes" in page.content()
    assert "PR-AUC" in page.locator(".doc-step").nth(3).inner_text()
    assert_no_axe_violations(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export Markdown").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "# Spam filtering for mail" in text and "Cut spam reaching inboxes" in text


def test_a_fields_aria_invalid_follows_its_message_as_it_saves(site, page, site_user):
    from apps.designdocs.models import DesignDoc, Prompt

    owner = site_user("ivan")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=owner, title="Search ranking")
        doc.save_answer(Prompt.objects.get(key="peak_qps"), "lots", 0)  # saved as typed
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", "ivan")
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    page.goto(f"{site.url}/docs/{doc.pk}/steps/problem-clarification/")
    field, error = page.locator("#f-peak_qps"), page.locator("#error-peak_qps")
    assert field.get_attribute("aria-invalid") == "true"
    page.fill("#f-peak_qps", "35k QPS")
    page.locator("#status-peak_qps").get_by_text("Saved at").wait_for()
    assert error.inner_text().strip() == ""
    assert field.get_attribute("aria-invalid") is None, "fixed: no longer invalid"
    page.fill("#f-peak_qps", "many")
    error.get_by_text("Enter a number").wait_for()
    assert field.get_attribute("aria-invalid") == "true", "a new message marks it again"
    assert_no_axe_violations(page)


def test_two_tabs_show_a_conflict_instead_of_overwriting(site, browser, site_user):
    site_user("fay")
    context = browser.new_context()
    tab_a = context.new_page()
    tab_a.goto(site.url + "/accounts/login/")
    tab_a.fill("#id_username", "fay")
    tab_a.fill("#id_password", "a-long-unusual-pass-88")
    tab_a.get_by_role("button", name="Sign in").click()
    tab_a.wait_for_url("**/docs/")
    tab_a.fill("#id_title", "Two tabs")
    tab_a.get_by_role("button", name="Create and start step 1").click()
    tab_a.wait_for_url(re.compile(r".*/steps/problem-clarification/$"))
    tab_b = context.new_page()
    tab_b.goto(tab_a.url)
    try:
        tab_a.fill("#f-corner_cases", "Text from tab A")
        tab_a.locator("#status-corner_cases").get_by_text("Saved at").wait_for()
        tab_b.fill("#f-corner_cases", "Text from tab B")
        conflict = tab_b.locator("#status-corner_cases.conflict")
        conflict.wait_for()
        assert "Text from tab A" in conflict.inner_text()
        assert "Text from tab B" in conflict.inner_text()
        assert_no_axe_violations(tab_b)
        conflict.get_by_role("button", name="Keep my text").click()
        tab_b.locator("#status-corner_cases").get_by_text("Saved at").wait_for()
        tab_a.reload()
        assert tab_a.input_value("#f-corner_cases") == "Text from tab B"
    finally:
        context.close()


def test_a_second_choice_made_while_the_picker_refreshes_still_reaches_it(site, page, site_user):
    """Two choices saved in quick succession each ask the metric list to refresh. The second
    ask arrives while the first refresh is on its way; it must run after it, not be dropped,
    or the list would show advice for the first choice alone."""
    site_user("gus")
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", "gus")
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    page.fill("#id_title", "Fraud alerts")
    page.get_by_role("button", name="Create and start step 1").click()
    page.wait_for_url(re.compile(r".*/steps/problem-clarification/$"))
    page.goto(page.url.replace("problem-clarification", "model-and-metric-selection"))
    refresh = LateResponse(page, "**/pickers/offline_metrics/")
    page.select_option("#f-model_type", "binary")
    refresh.wait()  # the model type's save asked the list to refresh
    page.select_option("#f-class_imbalance", "severe")
    page.locator("#status-class_imbalance").get_by_text("Saved at").wait_for()
    refresh.deliver()
    # Severe imbalance recommends MCC; the first refresh, made before it, could not.
    mcc = page.locator('#options-offline_metrics li:has(input[value="mcc"]) .recommended')
    mcc.wait_for()
    assert page.locator("#options-offline_metrics").count() == 1
    assert_no_axe_violations(page)


def test_a_trashed_docs_address_tells_its_owner_and_restores_it(site, page, site_user):
    from apps.designdocs.models import DesignDoc

    owner = site_user("tara")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=owner, title="Churn model")
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", "tara")
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    page.goto(f"{site.url}/docs/{doc.pk}/")
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_url("**/docs/")
    page.goto(f"{site.url}/docs/{doc.pk}/")
    assert page.locator("h1").inner_text() == "“Churn model” is in the trash"
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Restore “Churn model”").click()
    page.wait_for_url(f"**/docs/{doc.pk}/")
    assert page.locator("h1").inner_text() == "Churn model"
