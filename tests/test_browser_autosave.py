"""Nothing typed is lost, however the writer leaves the page: tried in a real browser.

Each test types into the wizard and leaves *before* the 800 ms autosave delay has passed (by a
link, the address bar, a reload, closing the tab), or makes the save fail, and then reads the
answer back from the database.
"""

import re
import time

import pytest

from apps.designdocs.models import Answer, DesignDoc
from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser

STEP = "problem-clarification"
KEY = "corner_cases"


@pytest.fixture
def writer(site, browser, site_user, request):
    """A signed-in browser context and a fresh doc of its user's."""
    name = re.sub(r"\W", "", request.node.name)[-28:]
    user = site_user(name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: dialog.accept())  # "Leave site?": yes
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", "a-long-unusual-pass-88")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=user, title="Leaving early", problem="p")
    step_url = f"{site.url}/docs/{doc.pk}/steps/{STEP}/"
    yield page, context, doc, step_url
    context.close()


def stored(site, doc, key=KEY, timeout=8.0) -> str:
    """The saved answer, waiting a little for a request the leaving page sent on its way out."""
    deadline = time.monotonic() + timeout
    value = ""
    while time.monotonic() < deadline:
        with site.unblock():
            answer = Answer.objects.filter(doc=doc, prompt__key=key).first()
        value = answer.value if answer else ""
        if value:
            return value
        time.sleep(0.1)
    return value


def wait_for_value(site, doc, expected, key=KEY, timeout=8.0) -> str:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = stored(site, doc, key, timeout=0.2)
        if value == expected:
            return value
        time.sleep(0.1)
    return value


def test_leaving_by_a_link_right_after_typing_keeps_the_text(site, writer):
    page, _, doc, step_url = writer
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Typed, then a link clicked at once")
    page.get_by_role("link", name="View the whole document").click()
    page.wait_for_url(f"**/docs/{doc.pk}/")
    assert wait_for_value(site, doc, "Typed, then a link clicked at once") == (
        "Typed, then a link clicked at once"
    )


def test_leaving_by_the_address_bar_right_after_typing_keeps_the_text(site, writer):
    page, _, doc, step_url = writer
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Typed, then another address")
    page.goto(site.url + "/concepts/")
    assert wait_for_value(site, doc, "Typed, then another address") == "Typed, then another address"


def test_reloading_right_after_typing_keeps_the_text(site, writer):
    page, _, doc, step_url = writer
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Typed, then reloaded")
    page.reload()
    assert wait_for_value(site, doc, "Typed, then reloaded") == "Typed, then reloaded"
    page.reload()
    assert page.input_value(f"#f-{KEY}") == "Typed, then reloaded"


def test_closing_the_tab_right_after_typing_keeps_the_text(site, writer):
    page, _, doc, step_url = writer
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Typed, then the tab closed")
    page.close(run_before_unload=True)
    assert wait_for_value(site, doc, "Typed, then the tab closed") == "Typed, then the tab closed"


def test_a_save_that_fails_once_is_retried_by_itself(site, writer):
    page, _, doc, step_url = writer
    calls = []

    def flaky(route):
        calls.append(route.request.url)
        if len(calls) == 1:
            route.abort("failed")  # the network drops the first save
        else:
            route.continue_()

    page.route("**/answers/**", flaky)
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Survives a dropped request")
    status = page.locator(f"#status-{KEY}")
    status.get_by_text("Not saved yet — retrying").wait_for()
    assert status.get_by_role("button", name="Retry now").is_visible()
    status.get_by_text("Saved at").wait_for()
    assert stored(site, doc) == "Survives a dropped request"
    assert len(calls) >= 2


def test_a_server_error_is_retried_on_the_same_base_version(site, writer):
    page, _, doc, step_url = writer
    bodies = []

    def failing_once(route):
        bodies.append(route.request.post_data)
        if len(bodies) == 1:
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    page.route("**/answers/**", failing_once)
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Survives a 503")
    page.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for(timeout=15_000)
    assert stored(site, doc) == "Survives a 503"
    assert all(f"version_{KEY}=0" in body for body in bodies), "retries keep the base version"


def test_text_that_never_reached_the_server_is_offered_back_not_applied(site, writer):
    page, context, doc, step_url = writer

    def offline(route):
        # Every save fails: the autosaves and the beacon sent to the step as the page goes.
        if route.request.method == "POST":
            route.abort("failed")
        else:
            route.continue_()

    context.route("**/docs/**", offline)
    # Beacons bypass request interception: make this browser one that cannot send them, so
    # the page falls back to ordinary saves, which fail here.
    context.add_init_script("navigator.sendBeacon = function () { return false; };")
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Written while offline")
    page.locator(f"#status-{KEY}").get_by_text("Not saved yet").wait_for()
    page.goto(site.url + "/concepts/")
    context.unroute("**/docs/**")
    assert stored(site, doc, timeout=0.5) == ""

    page.goto(step_url)
    notice = page.locator(".draft-notice")
    notice.wait_for()
    assert "did not reach the server" in notice.inner_text()
    assert "Written while offline" in notice.inner_text()
    assert page.input_value(f"#f-{KEY}") == "", "never applied silently"
    assert_no_axe_violations(page)
    notice.get_by_role("button", name="Put my text back").click()
    page.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for()
    assert stored(site, doc) == "Written while offline"
    page.reload()
    assert page.locator(".draft-notice").count() == 0


def test_leaving_a_step_keeps_a_snapshot_with_the_last_text(site, writer):
    page, _, doc, step_url = writer
    with site.unblock():
        doc.record_revision("Created")  # so autosaves keep no snapshot of their own for a while
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Last words before leaving")
    page.goto(site.url + "/concepts/")
    deadline = time.monotonic() + 8
    reasons = []
    while time.monotonic() < deadline:
        with site.unblock():
            latest = doc.revisions.first()
        if latest and latest.reason.startswith("Left step 1"):
            assert latest.snapshot["answers"].get(KEY) == "Last words before leaving"
            return
        reasons.append(latest.reason if latest else None)
        time.sleep(0.1)
    raise AssertionError(f"no snapshot on leaving: {reasons[-1:]}")


def test_the_browser_asks_before_leaving_only_while_a_save_is_unacknowledged(site, writer):
    page, _, _, step_url = writer
    seen = []
    page.on("dialog", lambda dialog: seen.append(dialog.type))
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Acknowledged before leaving")
    page.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for()
    page.goto(site.url + "/concepts/")
    assert seen == []

    page.route("**/answers/**", lambda route: route.abort("failed"))
    page.goto(step_url)
    page.fill(f"#f-{KEY}", "Not acknowledged")
    page.locator(f"#status-{KEY}").get_by_text("Not saved yet").wait_for()
    page.goto(site.url + "/concepts/")
    assert seen == ["beforeunload"]


def conflict_between_tabs(
    page, context, step_url, saved="Saved by the other tab", typed="Typed in this tab"
):
    """A second tab saves ``saved``; then ``page``, on the older version, types ``typed`` and
    shows the conflict. The second tab and the conflict box."""
    other = context.new_page()
    other.on("dialog", lambda dialog: dialog.accept())
    page.goto(step_url)
    other.goto(step_url)
    other.fill(f"#f-{KEY}", saved)
    other.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for()
    page.fill(f"#f-{KEY}", typed)
    conflict = page.locator(f"#status-{KEY}.conflict")
    conflict.wait_for()
    return other, conflict


def test_use_the_saved_text_instead_takes_the_other_tabs_text(site, writer):
    page, context, doc, step_url = writer
    other, conflict = conflict_between_tabs(page, context, step_url)
    conflict.get_by_role("link", name="Use the saved text instead").click()
    assert page.input_value(f"#f-{KEY}") == "Saved by the other tab"
    page.fill(f"#f-{KEY}", "Saved by the other tab, then extended here")
    page.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for()
    assert stored(site, doc) == "Saved by the other tab, then extended here"
    with site.unblock():
        kept = [r.snapshot["answers"].get(KEY) for r in doc.revisions.all()]
    assert "Typed in this tab" in kept, "the refused text is in the history"
    other.close()


def test_use_the_saved_text_keeps_what_was_typed_after_the_conflict(site, writer):
    page, context, doc, step_url = writer
    other, conflict = conflict_between_tabs(page, context, step_url)
    typed_on = "Typed in this tab, and more while the conflict showed"
    page.fill(f"#f-{KEY}", typed_on)
    conflict.get_by_role("link", name="Use the saved text instead").click()
    assert page.input_value(f"#f-{KEY}") == "Saved by the other tab"
    yours = page.locator(f"#yours-{KEY}")
    yours.get_by_text("Your text, as you left it").click()
    assert yours.locator("pre").inner_text() == typed_on, "still on the page, to copy from"
    deadline, kept = time.monotonic() + 8, []
    while typed_on not in kept and time.monotonic() < deadline:
        time.sleep(0.1)
        with site.unblock():
            kept = [r.snapshot["answers"].get(KEY) for r in doc.revisions.all()]
    assert typed_on in kept, "the text typed after the conflict is in the history"
    assert stored(site, doc) == "Saved by the other tab", "the saved text stays as it was"
    assert_no_axe_violations(page)
    other.close()


def test_long_texts_in_a_conflict_scroll_by_keyboard(site, writer):
    page, context, _, step_url = writer
    other, conflict = conflict_between_tabs(
        page, context, step_url,
        saved="\n".join(f"Saved line {n}" for n in range(60)),
        typed="\n".join(f"My line {n}" for n in range(60)),
    )  # fmt: skip
    saved, mine = conflict.locator("pre").nth(0), conflict.locator("pre").nth(1)
    assert saved.evaluate("pre => pre.scrollHeight > pre.clientHeight"), "it scrolls"
    assert_no_axe_violations(page)  # scrollable-region-focusable among its rules
    page.focus(f"#f-{KEY}")
    page.keyboard.press("Tab")
    assert saved.evaluate("pre => document.activeElement === pre"), "next after the field"
    # A focused box scrolls by keyboard: that part is Chromium's, and headless Chromium lets a
    # key go unscrolled now and then, so the test stops at the focus it gives.
    page.keyboard.press("Tab")
    assert mine.evaluate("pre => document.activeElement === pre")
    assert conflict.get_by_role("region", name="Your text (still in the field)").count() == 1
    other.close()


def test_autosave_breaks_no_content_security_policy_rule(site, writer):
    page, _, doc, step_url = writer
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(step_url)
    for n in range(3):
        page.fill(f"#f-{KEY}", f"Saved without a policy violation {n}")
        page.locator(f"#status-{KEY}").get_by_text("Saved at").wait_for()
    page.fill("#f-peak_qps", "35k QPS")
    page.locator("#meaning-peak_qps").get_by_text("35,000 QPS").wait_for()
    assert not [text for text in console if "Content Security Policy" in text], console
    assert stored(site, doc) == "Saved without a policy violation 2"


def test_text_typed_into_a_doc_trashed_in_another_tab_waits_for_its_restore(site, writer):
    """The doc went to the trash elsewhere while this tab was open: the save says why it did
    not happen, the text stays, and once the doc is restored the next retry saves it."""
    page, _, doc, step_url = writer
    page.goto(step_url)
    with site.unblock():
        doc.move_to_trash()
    page.fill(f"#f-{KEY}", "Typed after the trash")
    status = page.locator(f"#status-{KEY}")
    status.get_by_text("Not saved: “Leaving early” is in the trash: restore it").wait_for()
    assert "Your text stays here and in this browser; retrying in" in status.inner_text()
    assert page.input_value(f"#f-{KEY}") == "Typed after the trash"
    assert stored(site, doc, timeout=0.5) == ""
    with site.unblock():
        DesignDoc.objects.in_trash().get(pk=doc.pk).restore_from_trash()
    # The retries back off (1, 2, 4… s): the next one after the restore saves, unasked.
    status.get_by_text("Saved at").wait_for(timeout=20_000)
    assert stored(site, doc) == "Typed after the trash"
