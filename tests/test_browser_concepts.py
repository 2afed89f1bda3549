"""What only a browser can show: navigation, anchors, theme, and accessibility (axe-core)."""

import pytest

from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_reader_walks_home_list_concept_toc_and_related_link(site, page):
    page.goto(site.url + "/")
    assert_no_axe_violations(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Concepts").click()
    page.wait_for_url("**/concepts/")
    assert page.get_by_role("heading", name="Foundations").is_visible()
    assert_no_axe_violations(page)

    page.locator('a[href="/concepts/tcp/"]').first.click()
    page.wait_for_url("**/concepts/tcp/")
    assert "TCP" in page.locator("h1").inner_text()
    assert_no_axe_violations(page)

    page.locator('.toc a[href="#how-it-works"]').click()
    page.wait_for_url("**/concepts/tcp/#how-it-works")
    heading = page.locator("h2#how-it-works")
    assert heading.is_visible()
    assert heading.evaluate("el => el.getBoundingClientRect().top") < 200

    related = page.locator(".related a").first
    target = related.get_attribute("href")
    related.click()
    page.wait_for_url(f"**{target}")
    assert page.locator(".related").count() == 1
    assert_no_axe_violations(page)


def test_theme_toggle_switches_and_remembers_dark_mode(site, page):
    page.goto(site.url + "/concepts/availability/")
    toggle = page.locator("[data-theme-toggle]")
    assert toggle.is_visible()
    before = page.evaluate("getComputedStyle(document.body).backgroundColor")
    toggle.click()  # light (the system's choice here), then dark
    toggle.click()
    theme = page.evaluate("document.documentElement.dataset.theme")
    after = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert theme == "dark" and after != before
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    assert_no_axe_violations(page)


def test_dark_mode_on_a_phone_sized_window_is_accessible_and_has_no_sideways_scroll(site, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, color_scheme="dark")
    page = context.new_page()
    try:
        for path in ["/", "/concepts/", "/concepts/availability/", "/concepts/kafka/"]:
            page.goto(site.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways ({width}px)"
            assert_no_axe_violations(page)
    finally:
        context.close()


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(site, page):
    page.goto(site.url + "/concepts/tcp/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_code_comments_are_readable_on_the_code_background(site, browser, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(site.url + "/concepts/grpc/")  # its proto block ends a line with a comment
        comment = page.locator(".highlight .c1", has_text="packed by default")
        assert comment.is_visible()
        assert_no_axe_violations(page)
    finally:
        context.close()
