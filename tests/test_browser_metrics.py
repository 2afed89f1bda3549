"""Calculators in a real browser: typing updates results, the threshold slider moves the curve."""

import pytest

from tests.conftest import assert_no_axe_violations

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
    page.locator("#id_y_true-errors").get_by_text("is not a number").wait_for()
    assert page.evaluate("window.__marker") == "same page"
    assert page.input_value("#id_y_true") == "1, 0, banana"
    assert_no_axe_violations(page)


def test_metric_list_and_chooser_are_accessible(site, page):
    page.goto(site.url + "/metrics/")
    assert_no_axe_violations(page)
    page.goto(site.url + "/metrics/choose/")
    page.select_option("#id_task", "ranking")
    page.locator("#advice").get_by_role("link", name="NDCG", exact=False).first.wait_for()
    assert "task=ranking" in page.url
    assert_no_axe_violations(page)
