"""Reading comfort in a real browser: phones never scroll sideways, a compact header, a table
of contents that follows the reader, and a theme toggle that cycles light → dark → system."""

import contextlib
import re

import pytest
from playwright.sync_api import expect

from apps.designdocs.models import DesignDoc
from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser

PHONES = [360, 390]


def public_urls(page, base: str) -> list[str]:
    """Every public page: the lists, each concept, metric, template step and worked example."""
    urls = ["/", "/concepts/", "/metrics/", "/metrics/choose/", "/search/?q=kafka&all=1",
            "/search/?q=latency&all=1&page=2",
            "/docs/", "/accounts/login/", "/accounts/signup/"]  # fmt: skip
    for listing, pattern in [
        ("/concepts/", r"^/concepts/[\w-]+/$"),
        ("/metrics/", r"^/metrics/[\w-]+/$"),
        ("/docs/template/problem-clarification/", r"^/docs/(template|examples)/[\w-]+/$"),
    ]:
        page.goto(base + listing)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        urls += sorted({h for h in hrefs if re.match(pattern, h)} - {"/metrics/choose/"})
    return list(dict.fromkeys(urls))


def sideways(page, width: int) -> list[str]:
    """What sticks out past the viewport (empty when the page fits)."""
    if page.evaluate("document.documentElement.scrollWidth") <= width:
        return []
    return page.evaluate(
        """(vw) => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > vw + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
        width,
    )


# What axe's scrollable-region-focusable asks, for the whole walk in one evaluate: each box that
# scrolls sideways (more than axe's 13 px) takes the focus or holds something that does.
UNREACHABLE_SCROLLERS = """() => Array.from(document.querySelectorAll('main *')).filter(box => {
    if (box.scrollWidth - box.clientWidth <= 13) return false;
    if (!/(auto|scroll)/.test(getComputedStyle(box).overflowX)) return false;
    const focusable = 'a[href], button, input, select, textarea, [tabindex]';
    return box.tabIndex < 0 && !box.querySelector(focusable);
}).slice(0, 5).map(box => box.tagName + ': ' + box.textContent.trim().slice(0, 60))"""


# axe's empty-table-header: a column header with no words (nothing, or only MathML, which axe
# and some screen readers do not read as text) names no column.
WORDLESS_HEADERS = """() => Array.from(document.querySelectorAll('main th')).filter(th => {
    const words = th.cloneNode(true);
    words.querySelectorAll('math').forEach(math => math.remove());
    return words.textContent.trim() === '';
}).slice(0, 5).map(th => 'a header without words: ' + th.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize("width", PHONES)
def test_no_public_page_scrolls_sideways_on_a_phone(site, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        urls = public_urls(page, site.url)
        assert len(urls) > 90, "every concept, metric, step and example is walked"
        wide, unreachable = {}, {}
        for url in urls:
            page.goto(site.url + url)
            if culprits := sideways(page, width):
                wide[url] = culprits
            if boxes := page.evaluate(UNREACHABLE_SCROLLERS):
                unreachable[url] = boxes
            if headers := page.evaluate(WORDLESS_HEADERS):
                unreachable[url] = headers
        assert wide == {}, f"pages wider than {width} px: {wide}"
        assert unreachable == {}, (
            f"a box without keyboard focus, or a header without words: {unreachable}"
        )
    finally:
        context.close()


@contextlib.contextmanager
def signed_in(site, browser, name: str, width: int, color_scheme: str = "light"):
    """A page at ``width`` px, signed in as ``name`` (a ``site_user``) through the form."""
    context = browser.new_context(
        viewport={"width": width, "height": 800}, color_scheme=color_scheme
    )
    page = context.new_page()
    try:
        page.goto(site.url + "/accounts/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", "a-long-unusual-pass-88")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/docs/")
        yield page
    finally:
        context.close()


def test_signed_in_pages_fit_a_phone_too(site, browser, site_user):
    user = site_user("phoebe")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=user, title="Phone test", problem="Narrow screens.")
        doc.save_answer(doc_prompt("business_goal"), "A first goal " * 30, 0)
        first = doc.record_revision("First")
        doc.save_answer(doc_prompt("business_goal"), "A second goal " * 30, 1)
        second = doc.record_revision("Second")
        gone = DesignDoc.objects.create(owner=user, title="A long title that goes on " * 6)
        gone.move_to_trash()
    with signed_in(site, browser, "phoebe", 360) as page:
        history = f"/docs/{doc.pk}/history/?a={first.pk}&b={second.pk}"
        step = f"/docs/{doc.pk}/steps/problem-clarification/"
        for url in ["/docs/", f"/docs/{doc.pk}/", step, history, "/docs/trash/"]:
            page.goto(site.url + url)
            assert sideways(page, 360) == [], url
        page.get_by_text("Delete forever…").click()  # the trash's confirming button, unfolded
        assert page.get_by_role("button", name="Delete “A long title").is_visible()
        assert sideways(page, 360) == []
        assert_no_axe_violations(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_history_and_a_long_search_fit_a_375px_phone(site, browser, site_user, scheme):
    """The history table reflows on a phone (every column in view, not cut off), and a long
    query echoed back on the search page wraps."""
    user = site_user(f"hugo-{scheme}")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=user, title="Feed ranking", problem="Rank a feed.")
        doc.record_revision("Created")
        for i in range(6):
            doc.save_answer(doc_prompt("business_goal"), f"Goal {i} " * 20, i)
            doc.record_revision("Autosave" if i % 2 else "Left step 1: Problem clarification")
        first = doc.revisions.last()
        doc.restore(first)
        newest = doc.revisions.first()
    with signed_in(site, browser, f"hugo-{scheme}", 375, scheme) as page:
        history = f"/docs/{doc.pk}/history/"
        for url in [history, f"{history}?a={first.pk}&b={newest.pk}", "/search/?q=" + "a" * 300]:
            page.goto(site.url + url)
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, (url, sideways(page, 375))
            assert_no_axe_violations(page)
        page.goto(site.url + history)
        restore = page.get_by_role("link", name="Restore this…").last
        box = restore.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, "the last column is in view"


def doc_prompt(key):
    from apps.designdocs.models import Prompt

    return Prompt.objects.get(key=key)


def test_the_phone_header_is_compact_and_the_contents_are_folded(site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(site.url + "/concepts/kafka/")
        height = page.evaluate("document.querySelector('.site-header').offsetHeight")
        assert height <= 120, height
        assert page.locator("details.toc").get_attribute("open") is None
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
        page.wait_for_url("**/search/")
    finally:
        context.close()


def test_on_a_desktop_the_header_stays_and_the_contents_follow_the_reader(site, page):
    page.goto(site.url + "/concepts/kafka/")
    assert page.locator("details.toc").get_attribute("open") is not None
    page.locator(".prose h2").nth(3).scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().top")
    assert header == 0, "the header is still on screen"
    heading = page.locator(".prose h2").nth(3).get_attribute("id")
    current = page.locator('.toc a[aria-current="location"]')
    current.wait_for()
    assert current.count() == 1
    marked = current.get_attribute("href").lstrip("#")
    ids = page.eval_on_selector_all(".prose h2[id], .prose h3[id]", "els => els.map(e => e.id)")
    assert ids.index(marked) >= ids.index(heading) - 1, (marked, heading)


@pytest.mark.parametrize("name", ["desmond", "a-rather-long-username-42"])
def test_a_signed_in_desktop_header_is_one_row_at_1280(site, browser, site_user, name):
    """The sticky header's height is what anchors leave above a heading; a second row of
    account links at a common laptop width would hide it. A long name is cut short, in full
    on hover."""
    site_user(name)
    with signed_in(site, browser, name, 1280) as page:
        rows = page.evaluate(
            """() => ['.brand', '.site-nav', '.header-search', '.account-nav', '.theme-toggle']
                .map(s => document.querySelector(s).getBoundingClientRect())
                .map(r => Math.round(r.top + r.height / 2))"""
        )
        assert max(rows) - min(rows) <= 4, rows
        assert page.locator(".account-name").get_attribute("title") == name


@pytest.mark.parametrize("width", [1100, 1280])
def test_a_heading_reached_by_its_anchor_is_below_the_signed_in_header(
    site, browser, site_user, width
):
    """At 1100 px a signed-in header takes two rows; the heading an anchor leads to must not
    sit under it (nor the table of contents that follows the reader)."""
    site_user("annika")
    with signed_in(site, browser, "annika", width) as page:
        page.goto(site.url + "/concepts/kafka/")
        heading = page.locator(".prose h2[id]").nth(3).get_attribute("id")
        page.goto(site.url + f"/concepts/kafka/#{heading}")
        page.wait_for_function("window.scrollY > 0")
        below = page.evaluate(
            """(id) => {
                const header = document.querySelector('.site-header').getBoundingClientRect();
                const toc = document.querySelector('.toc-aside .toc');
                return [document.getElementById(id).getBoundingClientRect().top, header.bottom,
                        toc ? toc.getBoundingClientRect().top : header.bottom];
            }""",
            heading,
        )
        assert below[0] >= below[1] and below[2] >= below[1], below


def test_the_theme_toggle_cycles_light_dark_and_system(site, page):
    page.emulate_media(color_scheme="dark")
    page.goto(site.url + "/")
    toggle = page.locator("[data-theme-toggle]")

    def theme():
        return page.evaluate("document.documentElement.getAttribute('data-theme')")

    assert theme() is None and "system" in toggle.get_attribute("aria-label")
    toggle.click()
    assert theme() == "light"
    toggle.click()
    assert theme() == "dark"
    page.reload()
    assert theme() == "dark", "the choice is remembered"
    page.locator("[data-theme-toggle]").click()
    assert theme() is None
    assert page.evaluate("localStorage.getItem('theme')") is None
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", "following the system's dark theme"


@pytest.mark.parametrize(
    ("path", "region"),
    [("/concepts/tcp/", ".prose pre"), ("/metrics/ndcg/", ".metric-facts .formula")],
)
def test_a_wide_code_block_or_formula_scrolls_with_the_keyboard_on_a_phone(
    site, browser, path, region
):
    context = browser.new_context(viewport={"width": 320, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site.url + path)
        # Far wider than its box: axe passes over a region that scrolls 13 pixels or less.
        index = page.eval_on_selector_all(
            region, "els => els.findIndex(e => e.scrollWidth > e.clientWidth + 100)"
        )
        assert index >= 0, f"nothing in {region} is much wider than a 320px phone on {path}"
        wide = page.locator(region).nth(index)
        wide.focus()
        assert wide.evaluate("e => e === document.activeElement"), "the region takes no focus"
        page.keyboard.press("ArrowRight")
        page.wait_for_function("e => e.scrollLeft > 0", arg=wide.element_handle())
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_a_stored_page_served_gzipped_in_parts_reads_whole_in_the_browser(site, browser, site_user):
    """apps.core.gzipped: the page's text compressed once, the request's own parts between."""
    site_user("gus")
    with signed_in(site, browser, "gus", 1280) as page:
        page.goto(site.url + "/concepts/tcp/")  # stores it
        response = page.goto(site.url + "/concepts/tcp/")
        assert response.headers["content-encoding"] == "gzip"
        assert page.locator(".account-name").get_attribute("title") == "gus"
        assert page.locator("footer").is_visible()  # the last run, after every hole
        page.get_by_role("button", name="Sign out").click()  # its CSRF token, a hole, holds
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
