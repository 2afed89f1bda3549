"""Header search with the keyboard only, and the results page, in a real browser."""

import pytest

from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_slash_focuses_search_arrows_choose_enter_opens_escape_closes(site, page):
    page.goto(site.url + "/concepts/")
    page.keyboard.press("/")
    box = page.locator("#header-q")
    assert page.evaluate("document.activeElement.id") == "header-q"
    page.keyboard.type("kafka")
    listbox = page.locator("#search-suggestions [role=listbox]")
    listbox.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert_no_axe_violations(page)

    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert not listbox.is_visible()
    assert box.input_value() == "kafka", "Escape closes the list but keeps the text"

    page.keyboard.type(" ")  # new input reopens the suggestions
    listbox.wait_for()
    page.keyboard.press("ArrowDown")
    first = page.locator("#search-suggestions [role=option]").first
    assert first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    page.keyboard.press("Enter")
    page.wait_for_url("**/concepts/kafka/")
    assert "Kafka" in page.locator("h1").inner_text()


def test_enter_without_a_choice_submits_to_the_results_page(site, page):
    page.goto(site.url + "/")
    page.fill("#header-q", "hashing ring")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=hashing+ring")
    assert page.locator(".result-group").count() >= 1
    assert page.locator("mark").count() >= 1
    assert_no_axe_violations(page)


def test_exact_title_lands_on_the_page_with_a_way_back(site, page):
    page.goto(site.url + "/search/?q=Apache+Kafka")
    assert "/concepts/kafka/" in page.url
    page.get_by_role("link", name="See all results").click()
    page.wait_for_url("**/search/?q=Apache%20Kafka&all=1")
    assert page.locator('.results a[href="/concepts/kafka/"]').count() == 1
    assert_no_axe_violations(page)


def test_more_matches_open_the_next_page_by_keyboard_and_lead_back(site, page):
    page.goto(site.url + "/search/?q=latency&all=1")
    assert page.locator(".results li").count() == 30
    more = page.get_by_role("link", name="More matches")
    more.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=latency&all=1&page=2")
    assert page.get_by_text("Matches 31–").count() == 1
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Better matches").click()
    page.wait_for_url("**/search/?q=latency&all=1&page=1")
    assert page.locator(".results li").count() == 30
