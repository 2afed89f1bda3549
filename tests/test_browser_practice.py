"""Practice in a real browser: a whole mock interview on a short clock, a review session by
keyboard alone, and axe-core on every practice page."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from apps.designdocs.models import Step
from apps.practice import scheduling
from apps.practice.models import Attempt, Card, CardState, Problem, ReviewLog
from tests.conftest import LateResponse, assert_no_axe_violations

pytestmark = pytest.mark.browser

PASSWORD = "a-long-unusual-pass-88"
CLOCK_LINE = "{% load practice %}{% interview_clock doc step %}"
DAY = timedelta(days=1)
STEP_TEMPLATE = Path(django_settings.BASE_DIR) / "apps/designdocs/templates/designdocs/step.html"


@pytest.fixture
def step_page_with_clock(settings, tmp_path):
    """The wizard's step page with the interview clock in it.

    The line belongs in apps/designdocs/templates/designdocs/step.html (the design-docs app's
    file); until it is there, the test serves the same template with the line added.
    """
    text = STEP_TEMPLATE.read_text()
    if "interview_clock" not in text:
        anchor = '<div class="wizard-main">'
        assert anchor in text, "step.html changed: place the clock line by hand"
        folder = tmp_path / "designdocs"
        folder.mkdir()
        (folder / "step.html").write_text(text.replace(anchor, f"{anchor}\n    {CLOCK_LINE}", 1))
        settings.TEMPLATES = [
            {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
        ]


def sign_in(browser, site, site_user, name: str):
    user = site_user(name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    return user, context, page


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    return check()


def test_a_whole_mock_interview_on_a_short_clock(site, browser, site_user, step_page_with_clock):
    user, context, page = sign_in(browser, site, site_user, "interviewee")
    try:
        page.goto(site.url + "/practice/problems/ads-click-prediction/")
        assert_no_axe_violations(page)
        page.get_by_label("35 minutes").check()
        page.get_by_role("button", name="Start the interview").click()
        page.wait_for_url(re.compile(r"/docs/\d+/steps/problem-clarification/$"))
        clock = page.locator("[data-interview-clock]")
        assert clock.get_by_text("of 35:00").is_visible()
        with site.unblock():
            attempt = Attempt.objects.get(user=user)
            # A short clock: one minute in all, more than half of it already gone.
            Attempt.objects.filter(pk=attempt.pk).update(
                minutes=1, started_at=timezone.now() - timedelta(seconds=35)
            )
        page.reload()
        assert_no_axe_violations(page)
        status = page.locator("[data-clock-status]")
        # The first step's share of one minute is about ten seconds.
        status.get_by_text("Over this step's budget").wait_for(timeout=20_000)
        status.get_by_text("Time's up").wait_for(timeout=20_000)
        assert "times-up" in clock.get_attribute("class")
        field = page.locator("textarea").first
        field.fill("Still typing after time is up.")
        assert field.input_value() == "Still typing after time is up."
        with site.unblock():
            spans = list(attempt.spans.values_list("started_at", "ended_at"))
        assert spans, "the server recorded the step page being open"

        page.get_by_role("button", name="Pause").click()
        page.locator("[data-clock-status]").get_by_text("Paused").wait_for()
        with site.unblock():
            assert Attempt.objects.get(pk=attempt.pk).paused
        page.get_by_role("button", name="Resume").click()
        page.get_by_role("button", name="Pause").wait_for()

        page.get_by_role("button", name="Finish and review").click()
        page.wait_for_url(f"**/practice/attempts/{attempt.pk}/")
        assert page.locator("svg.practice-chart").count() == 1
        assert_no_axe_violations(page)
        page.locator('input[value="problem-clarification:0"]').check()
        page.locator("#score").get_by_text("1 of").wait_for()
        with site.unblock():
            finished = Attempt.objects.get(pk=attempt.pk)
            step = Step.objects.get(slug="problem-clarification")
            assert finished.finished and finished.ticks == {"problem-clarification": [0]}
            assert finished.time_per_step()[step.pk] > 0
        page.goto(site.url + "/practice/attempts/")
        assert_no_axe_violations(page)
    finally:
        context.close()


def minutes_seconds(text: str) -> int:
    minutes, seconds = text.replace("\u2212", "-").split(":")
    return int(minutes) * 60 + int(seconds) * (-1 if minutes.startswith("-") else 1)


def test_a_second_window_follows_a_pause_and_resume_made_in_the_first(
    site, browser, site_user, step_page_with_clock
):
    user, context, first = sign_in(browser, site, site_user, "twowindows")
    try:
        with site.unblock():
            attempt = Attempt.start(user, Problem.objects.get(slug="ads-click-prediction"), 45)
        url = f"{site.url}/docs/{attempt.doc_id}/steps/problem-clarification/"
        second = context.new_page()
        second.clock.install()  # its heartbeats come when the test moves its clock on
        second.goto(url)
        first.goto(url)
        status = second.locator("[data-clock-status]")

        first.get_by_role("button", name="Pause").click()
        first.get_by_role("button", name="Resume").wait_for()
        second.clock.fast_forward("00:16")  # the next heartbeat's answer: paused
        status.get_by_text("Paused").wait_for()
        second.get_by_role("button", name="Resume").wait_for()

        first.get_by_role("button", name="Resume").click()
        first.get_by_role("button", name="Pause").wait_for()
        second.clock.fast_forward("00:16")  # paused, it still asks, and so learns of it
        second.get_by_role("button", name="Pause").wait_for()
        assert "Paused" not in status.inner_text()
        shown = [
            minutes_seconds(page.locator('[data-clock="interview"]').inner_text())
            for page in (first, second)
        ]
        assert abs(shown[0] - shown[1]) <= 3, shown
    finally:
        context.close()


def test_a_tick_made_while_the_last_one_is_saving_is_saved_too(site, browser, site_user):
    """Each tick posts the whole self-review; a tick made while the previous post is on its way
    must be posted after it, not dropped (htmx drops a request from an element with one in
    flight unless told otherwise), or the rubric would lose it."""
    user, context, page = sign_in(browser, site, site_user, "ticker")
    try:
        page.goto(site.url + "/practice/problems/ads-click-prediction/")
        page.get_by_role("button", name="Start the interview").click()
        page.wait_for_url(re.compile(r"/docs/\d+/steps/problem-clarification/$"))
        page.get_by_role("button", name="Finish and review").click()
        page.wait_for_url(re.compile(r"/practice/attempts/\d+/$"))
        save = LateResponse(page, "**/ticks/")
        page.locator('input[value="problem-clarification:0"]').check()
        save.wait()
        page.locator('input[value="problem-clarification:1"]').check()
        save.deliver()
        page.locator("#score").get_by_text("2 of").wait_for()
        with site.unblock():
            ticks = Attempt.objects.get(user=user).ticks
        assert ticks == {"problem-clarification": [0, 1]}
    finally:
        context.close()


def test_a_review_session_by_keyboard(site, browser, site_user):
    user, context, page = sign_in(browser, site, site_user, "reviewer")
    try:
        page.goto(site.url + "/practice/cards/review/?deck=family-ranking")
        assert_no_axe_violations(page)
        answer = page.locator("[data-answer]")
        assert answer.is_hidden()

        def shown_card() -> str:
            return page.locator('input[name="card"]').get_attribute("value")

        first = shown_card()
        page.keyboard.press("Space")
        assert answer.is_visible()
        assert_no_axe_violations(page)
        page.keyboard.press("3")  # Good
        wait_until(lambda: shown_card() != first)
        second = shown_card()
        page.keyboard.press("Space")
        page.keyboard.press("1")  # Again
        wait_until(lambda: shown_card() != second)
        with site.unblock():
            ratings = list(
                ReviewLog.objects.filter(user=user).order_by("pk").values_list("card_id", "rating")
            )
        assert ratings == [(int(first), 3), (int(second), 1)]
        page.keyboard.press("u")
        assert wait_until(lambda: shown_card() == second), "the undone card is shown again"
        with site.unblock():
            assert ReviewLog.objects.filter(user=user).count() == 1
            assert not CardState.objects.filter(user=user, card_id=second).exists()
        page.get_by_role("link", name=re.compile("Show answer")).click()
        page.get_by_role("button", name=re.compile("Easy")).click()  # the mouse works too
        wait_until(lambda: shown_card() != second)
        with site.unblock():
            assert ReviewLog.objects.filter(user=user).count() == 2
        page.goto(site.url + "/practice/stats/")
        assert page.locator("svg.practice-chart").count() == 3
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_space_after_the_answer_grades_it_good_as_in_anki(site, browser, site_user):
    user, context, page = sign_in(browser, site, site_user, "spacebar")
    try:
        page.goto(site.url + "/practice/cards/review/?deck=family-ranking")

        def shown_card() -> str:
            return page.locator('input[name="card"]').get_attribute("value")

        first = shown_card()
        page.keyboard.press("Space")  # shows the answer…
        page.keyboard.press("Space")  # …and grades it Good
        wait_until(lambda: shown_card() != first)
        second = shown_card()
        page.keyboard.press("Space")
        page.keyboard.press("Enter")  # the focus is on Good too, not on Again
        wait_until(lambda: shown_card() != second)
        with site.unblock():
            ratings = list(
                ReviewLog.objects.filter(user=user).order_by("pk").values_list("card_id", "rating")
            )
        assert ratings == [(int(first), 3), (int(second), 3)]
    finally:
        context.close()


def test_the_headers_due_count_follows_each_grade(site, browser, site_user):
    user, context, page = sign_in(browser, site, site_user, "duecounter")
    try:
        with site.unblock():
            for card in Card.objects.active()[:2]:
                scheduling.grade(user, card.pk, ReviewLog.Rating.AGAIN, 0, timezone.now() - DAY)
        page.goto(site.url + "/practice/cards/review/")
        badge = page.locator("#nav-practice .due-badge")
        assert badge.inner_text().startswith("2")
        page.keyboard.press("Space")
        page.keyboard.press("3")
        page.locator("#nav-practice .due-badge", has_text=re.compile(r"^1 cards due")).wait_for()
        assert page.locator("#nav-practice").get_attribute("href") == "/practice/"
    finally:
        context.close()


def test_anonymous_visitors_flip_cards_with_the_arrow_keys(site, page):
    page.goto(site.url + "/practice/cards/review/?deck=family-ranking")
    first = page.locator(".flashcard-front").inner_text()
    page.keyboard.press("Space")
    assert page.locator("[data-answer]").is_visible()
    assert_no_axe_violations(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**n=2**")
    assert page.locator(".flashcard-front").inner_text() != first
    with site.unblock():
        assert not CardState.objects.exists() and Card.objects.exists()


def test_a_filter_error_goes_once_the_value_is_put_right(site, page):
    page.goto(site.url + "/practice/problems/?tag=nope")
    error = page.locator("#id_tag_error")
    assert "Showing every tag" in error.inner_text()
    tag = page.locator("#id_tag")
    tag.focus()
    tag.select_option("ads")  # HTMX asks for the results
    error.wait_for(state="detached")
    assert tag.get_attribute("aria-invalid") is None
    assert page.evaluate("document.activeElement.id") == "id_tag", "the keyboard stays put"
    assert "tag=ads" in page.url
    assert_no_axe_violations(page)


PUBLIC = [
    "/practice/",
    "/practice/problems/",
    "/practice/problems/?tag=ads&difficulty=hard",
    "/practice/problems/fraud-detection/",
    "/practice/cards/",
]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_practice_pages_pass_axe(site, page, url):
    page.goto(site.url + url)
    assert_no_axe_violations(page)


def test_signed_in_practice_pages_pass_axe_and_fit_a_phone(site, browser, site_user):
    _, context, page = sign_in(browser, site, site_user, "axereader")
    try:
        for url in ["/practice/", "/practice/cards/", "/practice/stats/", "/practice/attempts/",
                    "/practice/problems/ads-click-prediction/"]:  # fmt: skip
            page.goto(site.url + url)
            assert_no_axe_violations(page)
        page.set_viewport_size({"width": 360, "height": 800})
        for url in ["/practice/cards/review/", "/practice/stats/", "/practice/problems/"]:
            page.goto(site.url + url)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (url, width)
    finally:
        context.close()


def test_the_table_of_cards_due_scrolls_by_keyboard_on_a_phone(site, browser, site_user):
    _, context, page = sign_in(browser, site, site_user, "phonetable")
    try:
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(site.url + "/practice/stats/")
        table = page.get_by_role("table", name="Cards due per day")
        assert table.evaluate("t => t.scrollWidth > t.clientWidth"), "it does scroll sideways"
        assert_no_axe_violations(page)  # scrollable-region-focusable: keyboard users reach it
    finally:
        context.close()


SMALLEST_TEXT = """svg => Math.min(...Array.from(svg.querySelectorAll('text'), text =>
    parseFloat(getComputedStyle(text).fontSize)
    * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width))"""


def test_the_stats_charts_stay_legible_on_a_phone(site, browser, site_user):
    """Thirty days of columns are drawn narrow enough that a phone shows their dates and
    numbers at a readable size, not a wide chart shrunk to fit."""
    _, context, page = sign_in(browser, site, site_user, "phonestats")
    try:
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto(site.url + "/practice/stats/")
        charts = page.locator("svg.practice-chart")
        assert charts.count() == 3
        for i in range(3):
            smallest = charts.nth(i).evaluate(SMALLEST_TEXT)
            assert smallest >= 9, f"chart {i} text is {smallest:.1f} px on a 375 px phone"
        page.set_viewport_size({"width": 1280, "height": 900})
        largest = max(charts.nth(i).evaluate(SMALLEST_TEXT) for i in range(3))
        assert largest <= 14, f"chart text is {largest:.1f} px on a wide screen: too coarse"
    finally:
        context.close()


def test_the_time_per_step_chart_stays_legible_on_a_phone(site, browser, site_user):
    """The chart is not shrunk to fit a phone until its words are specks."""
    user, context, page = sign_in(browser, site, site_user, "phonecandidate")
    try:
        with site.unblock():
            problem = Problem.objects.get(slug="ads-click-prediction")
            attempt = Attempt.start(user, problem, 45)
            start = attempt.started_at
            for minute, step in enumerate(Step.objects.order_by("order")[:3]):
                moment = start + timedelta(minutes=5 * minute)
                attempt.record("start", step, "tab-a", moment)
                attempt.record("beat", step, "tab-a", moment + timedelta(seconds=50))
            attempt.finish(start + timedelta(minutes=20))
        page.set_viewport_size({"width": 375, "height": 800})
        for scheme in ["light", "dark"]:
            page.emulate_media(color_scheme=scheme)
            page.goto(site.url + f"/practice/attempts/{attempt.pk}/")
            smallest = page.locator(".time-per-step svg").evaluate(SMALLEST_TEXT)
            assert smallest >= 9, f"chart text is {smallest:.1f} px on a 375 px phone"
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert_no_axe_violations(page)
    finally:
        context.close()
