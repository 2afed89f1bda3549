"""Review in a real browser: a reviewer comments on a shared doc, the owner finds it in the inbox.
The new pages pass axe-core and fit a 390 px phone."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser

PASSWORD = "a-long-unusual-pass-88"


def sign_in(browser, site, name: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/docs/")
    return context, page


def fits_a_phone(page, url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, (url, width)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_reviewer_comments_and_the_owner_reads_it_in_the_inbox(site, browser, site_user):
    from apps.designdocs.models import DesignDoc, DocReviewer, Prompt, ShareLink

    owner, reviewer = site_user("owena"), site_user("rita")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=owner, title="Ranking a news feed")
        doc.save_answer(Prompt.objects.get(key="business_goal"), "More **sessions** a day.", 0)
        DocReviewer.objects.create(doc=doc, user=reviewer)
        _, token = ShareLink.make(doc, "For a mock interview")

    anonymous = browser.new_context()
    try:
        link_page = anonymous.new_page()
        link_page.goto(f"{site.url}/shared/{token}/")
        assert "More sessions a day." in link_page.inner_text("main")
        assert_no_axe_violations(link_page)
        fits_a_phone(link_page, f"{site.url}/shared/{token}/")
    finally:
        anonymous.close()

    context, page = sign_in(browser, site, "rita")
    try:
        page.get_by_role("link", name="Ranking a news feed").click()
        page.wait_for_url(f"**/docs/{doc.pk}/")
        assert_no_axe_violations(page)
        threads = page.locator("#threads-business_goal")
        threads.get_by_text("Comment on this answer").click()
        threads.get_by_label("Your comment").fill("Which **sessions** count: app or web?")
        threads.get_by_role("button", name="Comment").click()
        # HTMX swaps the thread in place: no reload, the comment rendered from Markdown.
        threads.locator(".comment-body strong").get_by_text("sessions").wait_for()
        assert page.url.endswith(f"/docs/{doc.pk}/")
        assert_no_axe_violations(page)
        fits_a_phone(page, f"{site.url}/docs/{doc.pk}/")
    finally:
        context.close()

    context, page = sign_in(browser, site, "owena")
    try:
        inbox = page.get_by_role("link", name=re.compile(r"Inbox\s*1"))
        inbox.click()
        page.wait_for_url("**/inbox/")
        assert "Which sessions count: app or web?" in page.inner_text("main")
        assert_no_axe_violations(page)
        page.get_by_role("button", name=re.compile("^Open")).first.click()
        page.wait_for_url(re.compile(rf".*/docs/{doc.pk}/#comment-\d+$"))
        assert page.locator(".comment").first.is_visible()
        assert page.get_by_role("link", name=re.compile(r"^Inbox$")).count() == 1, "read now"
        page.goto(f"{site.url}/docs/{doc.pk}/share/")
        assert "rita" in page.inner_text("main")
        assert_no_axe_violations(page)
        fits_a_phone(page, f"{site.url}/docs/{doc.pk}/share/")
        fits_a_phone(page, f"{site.url}/inbox/")
    finally:
        context.close()


def test_the_owner_deletes_a_thread_with_the_keyboard_only_once_confirmed(site, browser, site_user):
    from apps.designdocs.models import DesignDoc, DocReviewer
    from apps.reviews.models import Comment

    owner, reviewer = site_user("olga"), site_user("ravi")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=owner, title="Spam filter")
        DocReviewer.objects.create(doc=doc, user=reviewer)
        root = Comment.objects.create(doc=doc, author=reviewer, body="Is recall enough?")
        Comment.objects.create(doc=doc, author=owner, parent=root, body="Precision too.")

    context, page = sign_in(browser, site, "olga")
    try:
        # Without JavaScript the question is a page of its own; keeping goes back to the doc.
        page.goto(f"{site.url}/docs/{doc.pk}/comments/{root.pk}/delete/")
        assert page.locator("h1").inner_text() == "Delete this comment and its 1 reply?"
        assert_no_axe_violations(page)
        page.get_by_role("link", name="Keep them").click()
        page.wait_for_url(f"**/docs/{doc.pk}/#comment-{root.pk}")
        thread = page.locator("#threads-doc")
        actions = thread.locator(f"#comment-{root.pk} .comment-actions")
        shown = actions.inner_text()
        assert shown.index("Resolve") < shown.index("Delete…"), "delete comes last"
        actions.get_by_role("button", name="Resolve").focus()
        page.keyboard.press("Tab")  # to "Delete…"
        page.keyboard.press("Enter")  # opens the question; deletes nothing
        confirm = actions.get_by_role("button", name=re.compile("^Delete this comment and its"))
        confirm.wait_for()
        with site.unblock():
            assert Comment.objects.filter(doc=doc).count() == 2
        assert "and its 1 reply: it cannot be restored" in confirm.inner_text()
        assert_no_axe_violations(page)
        page.keyboard.press("Tab")
        assert confirm.evaluate("button => document.activeElement === button")
        page.evaluate("window.beforeTheDelete = true")  # gone if the page were loaded again
        page.keyboard.press("Enter")
        thread.get_by_text("Is recall enough?").wait_for(state="detached")
        assert page.evaluate("window.beforeTheDelete === true"), "swapped in place"
        with site.unblock():
            assert not Comment.objects.filter(doc=doc).exists()
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_leaving_with_an_unsent_comment_rename_or_invite_asks_first(site, browser, site_user):
    from apps.designdocs.models import DesignDoc

    owner = site_user("wendy")
    with site.unblock():
        doc = DesignDoc.objects.create(owner=owner, title="Ad click model")
    context, page = sign_in(browser, site, "wendy")
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.accept()  # "Leave site?": yes

    page.on("dialog", answer)
    try:

        def leaving_asks(url: str) -> bool:
            del asked[:]
            page.goto(url)
            return asked == ["beforeunload"]

        doc_url, elsewhere = f"{site.url}/docs/{doc.pk}/", f"{site.url}/concepts/"
        page.goto(doc_url)
        assert not leaving_asks(elsewhere), "nothing typed: nothing to ask"
        page.goto(doc_url)
        threads = page.locator("#threads-doc")
        threads.get_by_text("Comment on the whole doc").click()
        threads.get_by_label("Your comment").fill("Is the click label delayed?")
        assert leaving_asks(elsewhere), "an unsent comment"

        page.goto(doc_url)
        threads.get_by_text("Comment on the whole doc").click()
        threads.get_by_label("Your comment").fill("Sent before leaving")
        threads.get_by_role("button", name="Comment").click()
        threads.locator(".comment-body").get_by_text("Sent before leaving").wait_for()
        assert not leaving_asks(elsewhere), "a sent comment"

        page.goto(doc_url)
        page.get_by_text("Rename or edit the problem statement").click()
        page.fill("#id_title", "Ad click-through model")
        assert leaving_asks(elsewhere), "an unsaved rename"
        page.goto(doc_url)
        page.get_by_text("Rename or edit the problem statement").click()
        page.fill("#id_title", "Ad click-through model")
        del asked[:]
        page.get_by_role("button", name="Save", exact=True).click()
        page.locator("h1").get_by_text("Ad click-through model").wait_for()
        assert asked == [], "submitting is not leaving"
        with site.unblock():
            doc.refresh_from_db()
        assert doc.title == "Ad click-through model"

        page.goto(f"{doc_url}share/")
        page.get_by_label("Username or email").fill("someone")
        assert leaving_asks(elsewhere), "an unsent invitation"
    finally:
        context.close()
