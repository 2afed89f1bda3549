"""Calculators and the chooser in a real browser: typing updates results, the threshold slider
moves the curve and spans the scores, links reproduce results, Back and Forward step through the
chooser's answers."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import LateResponse, assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_binary_calculator_updates_as_you_type_and_slide(site, page):
    page.goto(site.url + "/metrics/roc-auc/")
    assert_no_axe_violations(page)
    page.fill("#id_y_true", "1, 0, 1, 1, 0, 0, 1, 0")
    page.fill("#id_y_score", "0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1")
    results = page.locator("#calculator-results")
    roc_auc = results.locator('[data-key="roc_auc"]')
    roc_auc.get_by_text("0.6875").wait_for()  # 11 of 16 positive-negative pairs ordered right
    recall = results.locator('[data-key="recall"]')
    assert recall.inner_text() == "0.7500"  # 3 of 4 positives score at least 0.5
    marker = results.locator(".chart circle.marker").first
    before = marker.get_attribute("cx"), marker.get_attribute("cy")

    slider = page.locator("#id_threshold")
    slider.focus()
    for _ in range(35):  # 0.50 → 0.15 with the keyboard, one step at a time
        page.keyboard.press("ArrowLeft")
    recall.get_by_text("1.0000").wait_for()
    assert page.locator('output[for="id_threshold"]').inner_text() == "0.15"
    after = marker.get_attribute("cx"), marker.get_attribute("cy")
    assert after != before
    assert "threshold 0.15" in results.inner_text()
    assert_no_axe_violations(page)


def test_bad_input_is_explained_beside_the_field_without_a_reload(site, page):
    page.goto(site.url + "/metrics/precision/")
    page.evaluate("window.__marker = 'same page'")
    page.fill("#id_y_true", "1, 0, banana")
    page.locator("#id_y_true_error").get_by_text("is not a number").wait_for()
    assert page.evaluate("window.__marker") == "same page"
    assert page.input_value("#id_y_true") == "1, 0, banana"
    assert_no_axe_violations(page)


def test_metric_list_and_chooser_are_accessible(site, page):
    page.goto(site.url + "/metrics/")
    assert_no_axe_violations(page)
    page.goto(site.url + "/metrics/choose/")
    page.get_by_label("Ranking or recommendation").check()
    page.locator("#advice").get_by_role("link", name="NDCG", exact=False).first.wait_for()
    assert "task=ranking" in page.url
    assert_no_axe_violations(page)


def _questions(page) -> list[str]:
    form = page.locator("#chooser-form")
    legends = form.locator("legend").all_inner_texts()
    return legends + form.locator('label:has(input[type="checkbox"])').all_inner_texts()


def test_chooser_back_and_forward_show_the_advice_that_matches_the_form(site, page):
    page.goto(site.url + "/metrics/choose/")
    advice = page.locator("#advice")
    page.get_by_label("Ranking or recommendation").check()
    advice.get_by_role("link", name="NDCG", exact=False).first.wait_for()
    page.wait_for_url(re.compile(r"task=ranking"))
    assert [q.strip() for q in _questions(page)] == ["What does the model do?"]

    page.get_by_label("Regression").check()
    advice.get_by_role("link", name="MAE", exact=False).first.wait_for()
    page.wait_for_url(re.compile(r"task=regression"))
    questions = " ".join(_questions(page))
    assert "ranked list" in questions
    assert "imbalanced" not in questions and "error costs" not in questions
    assert_no_axe_violations(page)

    page.go_back()
    page.wait_for_url(re.compile(r"task=ranking"))
    advice.get_by_role("link", name="NDCG", exact=False).first.wait_for()
    assert page.get_by_label("Ranking or recommendation").is_checked()
    assert not page.get_by_label("Regression").is_checked()
    assert advice.get_by_role("link", name="MAE", exact=False).count() == 0
    assert "ranked list" not in " ".join(_questions(page))

    page.go_forward()
    page.wait_for_url(re.compile(r"task=regression"))
    advice.get_by_role("link", name="MAE", exact=False).first.wait_for()
    assert page.get_by_label("Regression").is_checked()
    assert advice.get_by_role("link", name="NDCG", exact=False).count() == 0


def test_chooser_asks_about_classes_only_for_classifiers_and_no_option_is_cut_off(site, browser):
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        page.goto(site.url + "/metrics/choose/")
        page.get_by_label("Binary classification").check()
        page.get_by_label("False positives (false alarms) cost more").wait_for()
        for label in page.locator("#chooser-form label.choice").all():
            # Every option's text is shown whole: nothing wider than its box, nothing hidden.
            assert label.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), label.inner_text()
            assert label.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_label("Severe (minority below 2 %)").check()
        page.wait_for_url(re.compile(r"imbalance=severe"))
        advice = page.locator("#advice")
        advice.get_by_role("link", name="PR-AUC", exact=False).first.wait_for()
        assert advice.get_by_role("link", name="CTR", exact=False).count() == 0
        page.get_by_label("Ranking or recommendation").check()
        page.wait_for_url(re.compile(r"task=ranking$"))
        assert page.get_by_label("Severe (minority below 2 %)").count() == 0
    finally:
        context.close()


def test_a_message_quoting_a_long_value_fits_a_phone(site, browser):
    """An error that repeats what was given (a mangled shared link's answer) wraps."""
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        page.goto(site.url + "/metrics/choose/?task=" + "x" * 200)
        page.locator(".field-error", has_text="Select a valid choice").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_a_calculators_address_reproduces_its_result(site, page, browser):
    page.goto(site.url + "/metrics/roc-auc/")
    page.fill("#id_y_true", "1, 0, 1, 1, 0, 0, 1, 0")
    page.fill("#id_y_score", "0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1")
    results = page.locator("#calculator-results")
    results.locator('[data-key="roc_auc"]').get_by_text("0.6875").wait_for()
    page.wait_for_url(re.compile(r"y_score="))
    query = parse_qs(urlsplit(page.url).query)
    assert query["y_score"] == ["0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1"]
    shown = results.locator("[data-key]").all_inner_texts()

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        opened = other.new_page()
        opened.goto(page.url)
        assert opened.input_value("#id_y_true") == "1, 0, 1, 1, 0, 0, 1, 0"
        assert opened.locator("#calculator-results [data-key]").all_inner_texts() == shown
        assert_no_axe_violations(opened)
    finally:
        other.close()


def test_without_javascript_the_calculator_links_to_its_result(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url + "/metrics/ctr/")
        page.fill("#id_clicks", "45")
        page.fill("#id_impressions", "1500")
        page.get_by_role("button", name="Calculate").click()
        page.locator('[data-key="ctr"]').get_by_text("0.0300").wait_for()
        page.get_by_role("link", name="Link to these inputs").click()
        page.wait_for_url(re.compile(r"/metrics/ctr/\?clicks=45&impressions=1500$"))
        assert page.locator('[data-key="ctr"]').inner_text() == "0.0300"
        assert page.input_value("#id_impressions") == "1500"
    finally:
        context.close()


def test_the_threshold_slider_spans_logits(site, page):
    page.goto(site.url + "/metrics/roc-auc/")
    page.fill("#id_y_true", "1, 0, 1, 0, 1, 0")
    page.fill("#id_y_score", "3.2, -1.5, 0.8, -2.4, 1.1, 4.0")
    slider = page.locator("#id_threshold")
    page.wait_for_function("() => Number(document.getElementById('id_threshold').min) <= -2.4")
    assert float(slider.get_attribute("max")) > 4.0
    assert float(slider.get_attribute("max")) - float(slider.get_attribute("min")) < 8
    results = page.locator("#calculator-results")
    recall = results.locator('[data-key="recall"]')

    slider.focus()
    page.keyboard.press("Home")  # the lowest score: every example is positive
    recall.get_by_text("1.0000").wait_for()
    results.locator('[data-key="specificity"]').get_by_text("0.0000").wait_for()
    low = page.locator('output[for="id_threshold"]').inner_text()
    assert float(low) <= -2.4
    page.keyboard.press("End")  # above the highest score: nothing is positive
    recall.get_by_text("0.0000").wait_for()
    assert float(page.locator('output[for="id_threshold"]').inner_text()) > 4.0
    assert "threshold 4" in results.inner_text()
    assert_no_axe_violations(page)


@pytest.mark.parametrize(
    "slug", ["calibration-error", "brier-score", "bleu", "perplexity", "precision-at-recall"]
)
def test_new_metric_pages_with_their_tables_and_charts_are_accessible(site, page, slug):
    page.goto(f"{site.url}/metrics/{slug}/")
    page.locator("#calculator-results table").first.wait_for()
    assert_no_axe_violations(page)


def test_a_second_answer_given_while_the_first_is_answered_is_kept(site, page):
    """Each answer re-renders the form with the advice. An answer given while the previous
    one is on its way must not be undone by that older form arriving, nor left without
    advice: the older request gives way to the newer (hx-sync replace)."""
    page.goto(site.url + "/metrics/choose/?task=binary")
    answer = LateResponse(page, "**/metrics/choose/?*", lambda url: "imbalance=severe" in url)
    page.get_by_label("Severe (minority below 2 %)").check()
    answer.wait()
    page.get_by_label("False negatives (misses) cost more").check()
    page.wait_for_url(re.compile(r"costlier=fn"))
    answer.deliver()
    page.locator("#advice").get_by_text("miss", exact=False).first.wait_for()
    page.wait_for_timeout(500)  # room for a late, older form to land, were it still awaited
    assert page.get_by_label("Severe (minority below 2 %)").is_checked()
    assert page.get_by_label("False negatives (misses) cost more").is_checked()
    assert "imbalance=severe" in page.url and "costlier=fn" in page.url
