"""Review comments on a shared design doc, the inbox, review mail and the export of comments.

alice owns the doc and dave reviews it (invited by name); erin reviews it too; bob is a stranger.
Who may reach which URL is specified in test_sharing.py; here, what each can do with comments.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from apps.designdocs.models import DesignDoc, DocReviewer, Prompt
from apps.reviews.models import (
    COMMENT_MAX_CHARS,
    Comment,
    InboxItem,
    MailOptOut,
    unread_count,
)
from apps.reviews.views import COMMENTS_PER_USER
from tests.test_xss import assert_inert, chunk_ids, chunks, form_text

pytestmark = pytest.mark.django_db

User = get_user_model()


def make_user(name: str):
    return User.objects.create_user(name, f"{name}@example.com", "a-long-unusual-pass-88")


@pytest.fixture
def doc(alice):
    doc = DesignDoc.objects.create(owner=alice, title="Fraud detection", problem="Stop fraud.")
    prompt = Prompt.objects.get(key="business_goal")
    doc.answers.create(prompt=prompt, value="Cut losses by half.", version=1)
    return doc


@pytest.fixture
def dave(doc):
    user = make_user("dave")
    DocReviewer.objects.create(doc=doc, user=user)
    return user


@pytest.fixture
def erin(doc):
    user = make_user("erin")
    DocReviewer.objects.create(doc=doc, user=user)
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def comment(client, doc, body="Why half?", **fields):
    return client.post(f"/docs/{doc.pk}/comments/", {"body": body, **fields})


# --- Writing comments --------------------------------------------------------------------------


def test_a_reviewer_comments_on_an_answer_and_sees_it_on_the_doc(doc, dave):
    reviewer = signed_in(dave)
    response = comment(reviewer, doc, "Why **half**?", prompt="business_goal")
    saved = Comment.objects.get()
    assert response.status_code == 302
    assert response.url == f"/docs/{doc.pk}/#comment-{saved.pk}"
    assert saved.author == dave and saved.prompt.key == "business_goal"
    assert saved.answer_version == 1 and "<strong>half</strong>" in saved.body_html
    html = reviewer.get(f"/docs/{doc.pk}/").content.decode()
    assert f'id="comment-{saved.pk}"' in html and "<strong>half</strong>" in html


def test_comments_on_the_whole_doc_and_threaded_replies(doc, alice, dave):
    comment(signed_in(dave), doc, "Overall: solid.")
    root = Comment.objects.get()
    assert root.prompt is None
    comment(signed_in(alice), doc, "Thanks!", parent=root.pk)
    reply = Comment.objects.exclude(pk=root.pk).get()
    # A reply to a reply joins the same thread, one level deep.
    comment(signed_in(dave), doc, "Welcome.", parent=reply.pk)
    assert list(root.replies.values_list("body", flat=True)) == ["Thanks!", "Welcome."]
    html = signed_in(alice).get(f"/docs/{doc.pk}/").content.decode()
    section = html.split('id="threads-doc"')[1]
    assert section.index("Overall: solid.") < section.index("Thanks!") < section.index("Welcome.")


def test_the_comment_says_when_the_answer_changed_since(doc, alice, dave):
    comment(signed_in(dave), doc, "Why half?", prompt="business_goal")
    reviewer = signed_in(dave)
    assert "the answer changed since" not in reviewer.get(f"/docs/{doc.pk}/").content.decode()
    prompt = Prompt.objects.get(key="business_goal")
    assert doc.save_answer(prompt, "Cut losses by 60 %.", 1).conflict is False
    assert "the answer changed since" in reviewer.get(f"/docs/{doc.pk}/").content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "   "}, "Write something first."),
        ({"body": "x" * (COMMENT_MAX_CHARS + 1)}, "the limit is 10,000"),
        ({"body": "ok", "prompt": "no-such-prompt"}, "not in the template any more"),
        ({"body": "ok", "parent": "999999"}, "has been deleted"),
        ({"body": "ok", "parent": "nonsense"}, "has been deleted"),
    ],
)
def test_a_refused_comment_says_why_at_the_field_and_keeps_the_text(doc, dave, fields, message):
    response = signed_in(dave).post(f"/docs/{doc.pk}/comments/", fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if fields["body"].strip() and len(fields["body"]) < 100:
        assert f">\n{fields['body']}</textarea>" in html, "what was typed stays in the field"
    assert not Comment.objects.exists()


def test_a_comment_of_exactly_the_limit_is_taken(doc, dave):
    assert comment(signed_in(dave), doc, "x" * COMMENT_MAX_CHARS).status_code == 302


def test_htmx_swaps_the_thread_in_place_and_shows_refusals_there(doc, dave):
    reviewer = signed_in(dave)
    headers = {"HX-Request": "true"}
    response = reviewer.post(
        f"/docs/{doc.pk}/comments/",
        {"body": "Inline", "prompt": "business_goal"},
        headers=headers,
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div class="threads"')
    assert 'id="threads-business_goal"' in html and "Inline" in html
    refused = reviewer.post(
        f"/docs/{doc.pk}/comments/", {"body": " ", "prompt": "business_goal"}, headers=headers
    )
    assert "Write something first." in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    assert Comment.objects.count() == 1


def test_comments_are_throttled_per_user_and_the_text_is_kept(doc, dave, erin):
    reviewer = signed_in(dave)
    for n in range(COMMENTS_PER_USER.limit):
        assert comment(reviewer, doc, f"Comment {n}").status_code == 302
    response = comment(reviewer, doc, "One too many")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "wait" in html and ">\nOne too many</textarea>" in html
    assert Comment.objects.count() == COMMENTS_PER_USER.limit
    assert comment(signed_in(erin), doc, "Someone else").status_code == 302


def test_the_author_edits_their_comment_and_nobody_else_does(doc, alice, dave, erin):
    comment(signed_in(dave), doc, "Frist")
    saved = Comment.objects.get()
    url = f"/docs/{doc.pk}/comments/{saved.pk}/edit/"
    page = signed_in(dave).get(url)
    assert page.status_code == 200 and "Frist</textarea>" in page.content.decode()
    assert signed_in(dave).post(url, {"body": "First"}).status_code == 302
    saved.refresh_from_db()
    assert saved.body == "First" and saved.edited_at is not None
    for other in (alice, erin):
        assert signed_in(other).get(url).status_code == 404
        assert signed_in(other).post(url, {"body": "Hijacked"}).status_code == 404
    refused = signed_in(dave).post(url, {"body": "y" * (COMMENT_MAX_CHARS + 1)})
    assert refused.status_code == 400 and "the limit is 10,000" in refused.content.decode()
    saved.refresh_from_db()
    assert saved.body == "First"


def delete(client, doc, target, htmx=False):
    """The confirmed delete, as the doc page's "Delete…" disclosure posts it."""
    url = f"/docs/{doc.pk}/comments/{target.pk}/delete/"
    return client.post(url, {"confirm": "yes"}, headers={"HX-Request": "true"} if htmx else {})


def test_the_author_and_the_owner_delete_and_a_thread_goes_with_its_first_comment(
    doc, alice, dave, erin
):
    comment(signed_in(dave), doc, "Root")
    root = Comment.objects.get()
    comment(signed_in(erin), doc, "Reply", parent=root.pk)
    reply = Comment.objects.get(body="Reply")
    assert delete(signed_in(dave), doc, reply).status_code == 404
    asking = f"/docs/{doc.pk}/comments/{reply.pk}/delete/"
    assert signed_in(dave).get(asking).status_code == 404
    assert signed_in(erin).get(asking).status_code == 200, "its author is asked"
    assert delete(signed_in(erin), doc, reply).status_code == 302
    comment(signed_in(erin), doc, "Reply again", parent=root.pk)
    assert delete(signed_in(erin), doc, root).status_code == 404, "not the thread of another"
    assert delete(signed_in(alice), doc, root).status_code == 302
    assert not Comment.objects.exists() and not InboxItem.objects.exists()


def test_one_post_without_the_confirmation_deletes_nothing_and_asks_first(doc, alice, dave, erin):
    comment(signed_in(dave), doc, "Root of a long discussion")
    root = Comment.objects.get()
    comment(signed_in(erin), doc, "First reply", parent=root.pk)
    comment(signed_in(alice), doc, "Second reply", parent=root.pk)
    owner, url = signed_in(alice), f"/docs/{doc.pk}/comments/{root.pk}/delete/"
    for response in (owner.post(url), owner.post(url, {"confirm": "no"}), owner.get(url)):
        assert response.status_code == 200
        html = response.content.decode()
        assert "<h1>Delete this comment and its 2 replies?</h1>" in html
        assert "Root of a long discussion" in html and 'name="confirm" value="yes"' in html
        assert f'href="/docs/{doc.pk}/#comment-{root.pk}" class="button secondary">Keep' in html
    assert Comment.objects.count() == 3, "asking deletes nothing"
    response = owner.post(url, {"confirm": "yes"}, follow=True)
    assert "Deleted the comment and its 2 replies." in response.content.decode()
    assert not Comment.objects.exists()


def test_htmx_asks_in_the_thread_and_deletes_once_confirmed(doc, alice, dave):
    comment(signed_in(dave), doc, "Why half?", prompt="business_goal")
    root = Comment.objects.get()
    owner, url = signed_in(alice), f"/docs/{doc.pk}/comments/{root.pk}/delete/"
    asked = owner.post(url, headers={"HX-Request": "true"}).content.decode()
    assert asked.lstrip().startswith('<div class="threads" id="threads-business_goal"')
    assert '<details class="delete-forever" open>' in asked and "Why half?" in asked
    assert Comment.objects.exists()
    done = delete(owner, doc, root, htmx=True)
    assert done.status_code == 200 and "Why half?" not in done.content.decode()
    assert not Comment.objects.exists()


def test_the_doc_page_puts_delete_last_behind_a_disclosure(doc, alice, dave):
    comment(signed_in(dave), doc, "Root")
    root = Comment.objects.get()
    comment(signed_in(alice), doc, "Reply", parent=root.pk)
    html = signed_in(alice).get(f"/docs/{doc.pk}/").content.decode()
    actions = html.split(f'id="comment-{root.pk}"')[1].split("</li>")[0]
    assert actions.index(">Resolve<") < actions.index("<summary>Delete…")
    disclosure = actions.split('<details class="delete-forever">')[1].split("</details>")[0]
    assert 'name="confirm" value="yes"' in disclosure
    assert "Delete this comment and its 1 reply: it cannot be restored" in disclosure


def test_the_owner_resolves_and_reopens_a_thread(doc, alice, dave):
    comment(signed_in(dave), doc, "Needs a number", prompt="business_goal")
    root = Comment.objects.get()
    url = f"/docs/{doc.pk}/comments/{root.pk}/resolve/"
    assert signed_in(dave).post(url, {"resolved": "1"}).status_code == 404
    assert signed_in(alice).post(url, {"resolved": "1"}).status_code == 302
    root.refresh_from_db()
    assert root.resolved
    html = signed_in(dave).get(f"/docs/{doc.pk}/").content.decode()
    assert '<details class="thread resolved">' in html
    assert signed_in(alice).post(url, {"resolved": "0"}).status_code == 302
    root.refresh_from_db()
    assert not root.resolved


def test_a_removed_reviewer_loses_the_discussion_too(doc, alice, dave):
    comment(signed_in(alice), doc, "Over to you")
    root = Comment.objects.get()
    comment(signed_in(dave), doc, "On it", parent=root.pk)
    comment(signed_in(alice), doc, "Thanks", parent=root.pk)
    assert unread_count(dave) == 1
    DocReviewer.objects.filter(user=dave).delete()
    assert unread_count(dave) == 0
    assert "Thanks" not in signed_in(dave).get("/inbox/").content.decode()
    assert Comment.objects.filter(author=dave).exists(), "what they wrote stays on the doc"


# --- The inbox ---------------------------------------------------------------------------------


def test_the_owner_finds_new_threads_and_replies_in_the_inbox(doc, alice, dave, erin):
    comment(signed_in(dave), doc, "Why half?", prompt="business_goal")
    root = Comment.objects.get()
    owner = signed_in(alice)
    assert unread_count(alice) == 1
    html = owner.get("/inbox/").content.decode()
    assert "dave" in html and "Why half?" in html and "1 unread" in html
    assert '<span class="due-badge">1<span class="visually-hidden"> unread</span>' in html
    # erin replies: alice (owner) and dave (wrote in the thread) hear of it, erin does not.
    comment(signed_in(erin), doc, "Agreed", parent=root.pk)
    assert unread_count(alice) == 2 and unread_count(dave) == 1 and unread_count(erin) == 0
    item = InboxItem.objects.filter(user=alice).first()
    response = owner.post(f"/inbox/{item.pk}/open/")
    assert response.status_code == 302 and response.url.endswith(f"#comment-{item.comment_id}")
    assert unread_count(alice) == 1
    owner.post("/inbox/read/")
    assert unread_count(alice) == 0
    assert "unread" not in owner.get("/inbox/").content.decode().split("<h1>")[1][:300]


def test_the_inbox_excerpt_shows_the_characters_typed_and_never_runs_them(doc, alice, dave):
    typed = 'Is p99 < 100 ms & peak 35k QPS "realistic"? <script>alert(1)</script>'
    comment(signed_in(dave), doc, typed)
    html = signed_in(alice).get("/inbox/").content.decode()
    excerpt = html.split('<p class="inbox-excerpt">')[1].split("</p>")[0]
    # Escaped once, as the template does: the reader sees <, & and the quotes as typed.
    assert excerpt == (
        "Is p99 &lt; 100 ms &amp; peak 35k QPS &quot;realistic&quot;? "
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert_inert(excerpt, payload=typed, where="inbox excerpt")
    assert "<script>alert" not in html


def test_nobody_is_told_of_their_own_comment(doc, alice):
    comment(signed_in(alice), doc, "A note to myself")
    assert not InboxItem.objects.exists()


def test_inbox_items_are_each_users_own(doc, alice, dave):
    comment(signed_in(dave), doc, "For alice")
    item = InboxItem.objects.get()
    bob = make_user("bob")
    assert signed_in(bob).post(f"/inbox/{item.pk}/open/").status_code == 404
    assert "For alice" not in signed_in(bob).get("/inbox/").content.decode()
    assert signed_in(alice).get(f"/inbox/{item.pk}/open/").status_code == 405
    assert Client().get("/inbox/").status_code == 302


def test_the_header_count_is_read_with_the_user_and_follows_at_once(
    doc, alice, dave, django_assert_num_queries
):
    comment(signed_in(dave), doc, "Hello")
    owner = signed_in(alice)
    owner.get("/concepts/")  # a page stored for every reader, its count a hole
    with django_assert_num_queries(1):  # the user, with the counts
        assert '>1<span class="visually-hidden"> unread</span>' in owner.get("/concepts/").text
    comment(signed_in(dave), doc, "Again")
    assert '>2<span class="visually-hidden"> unread</span>' in owner.get("/concepts/").text


def test_the_unread_count_follows_a_doc_to_the_trash_and_back_at_once(doc, alice, dave):
    comment(signed_in(dave), doc, "Hello")
    owner = signed_in(alice)
    assert '>1<span class="visually-hidden"> unread</span>' in owner.get("/inbox/").text
    assert unread_count(alice) == 1
    assert owner.post(f"/docs/{doc.pk}/delete/").status_code == 302
    assert unread_count(alice) == 0
    assert 'visually-hidden"> unread</span>' not in owner.get("/concepts/").text
    assert owner.post(f"/docs/{doc.pk}/restore/").status_code == 302
    assert unread_count(alice) == 1


def test_a_trashed_doc_leaves_the_inbox_until_restored(doc, alice, dave):
    comment(signed_in(dave), doc, "Hello")
    doc.move_to_trash()
    assert "Hello" not in signed_in(alice).get("/inbox/").content.decode()
    doc.restore_from_trash()
    assert "Hello" in signed_in(alice).get("/inbox/").content.decode()


# --- Mail --------------------------------------------------------------------------------------


def test_a_new_thread_mails_the_owner_once_and_a_reply_does_not(
    doc, alice, dave, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment(signed_in(dave), doc, "Why half?\nAnd why now?", prompt="business_goal")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"] and "dave" in message.subject
    assert "Why half?" in message.body and f"/docs/{doc.pk}/#comment-" in message.body
    root = Comment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        comment(signed_in(dave), doc, "Also…", parent=root.pk)
    assert len(mail.outbox) == 1, "replies reach the inbox only"


def test_the_mail_opt_out_stops_mail_not_the_inbox(
    doc, alice, dave, django_capture_on_commit_callbacks
):
    owner = signed_in(alice)
    assert owner.post("/inbox/mail/", {}).status_code == 302
    assert MailOptOut.objects.filter(user=alice).exists()
    assert 'name="mail" value="on">' in owner.get("/inbox/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        comment(signed_in(dave), doc, "Quiet please")
    assert mail.outbox == [] and unread_count(alice) == 1
    owner.post("/inbox/mail/", {"mail": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        comment(signed_in(dave), doc, "Loud again")
    assert len(mail.outbox) == 1
    assert owner.get("/inbox/mail/").status_code == 405


def test_a_mail_server_that_is_down_loses_no_comment(
    doc, dave, settings, django_capture_on_commit_callbacks
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = comment(signed_in(dave), doc, "Still saved")
    assert response.status_code == 302 and Comment.objects.filter(body="Still saved").exists()


# --- Export ------------------------------------------------------------------------------------


def test_the_export_can_include_open_comments_per_prompt(doc, alice, dave):
    comment(signed_in(dave), doc, "Why **half**?", prompt="business_goal")
    comment(signed_in(dave), doc, "Resolved one", prompt="business_goal")
    Comment.objects.filter(body="Resolved one").update(resolved_at="2026-01-01T00:00Z")
    comment(signed_in(dave), doc, "Overall fine")
    root = Comment.objects.get(body="Why **half**?")
    comment(signed_in(alice), doc, "Because.", parent=root.pk)
    owner = signed_in(alice)
    plain = owner.get(f"/docs/{doc.pk}/export.md").content.decode()
    assert "Why **half**?" not in plain
    text = owner.get(f"/docs/{doc.pk}/export.md?include=comments").content.decode()
    section = text.split("### What business goal does the model serve")[1].split("\n### ")[0]
    assert "#### Open comments" in section
    assert "> **dave**" in section and "> Why **half**?" in section
    assert "> > **alice**" in section and "> > Because." in section
    assert "Resolved one" not in text
    assert "## Open comments on the whole doc" in text and "> Overall fine" in text


def test_a_right_to_left_comment_is_typed_and_shown_in_its_own_direction(doc, alice, dave):
    hebrew = "למה דווקא חצי?"
    comment(signed_in(dave), doc, hebrew, prompt="business_goal")
    page = signed_in(alice).get(f"/docs/{doc.pk}/").text
    assert f'<div class="prose comment-body" dir="auto"><p>{hebrew}</p>' in page
    boxes = re.findall(r'<textarea name="body"[^>]*>', page)
    assert boxes and all('dir="auto"' in box for box in boxes), boxes


# --- Accounts ----------------------------------------------------------------------------------


def test_deleting_an_account_deletes_its_comments_and_inbox(doc, alice, dave):
    comment(signed_in(dave), doc, "Mine")
    comment(signed_in(alice), doc, "Owner's", parent=Comment.objects.get().pk)
    dave.delete()
    assert list(Comment.objects.values_list("body", flat=True)) == []  # the thread went too
    comment(signed_in(alice), doc, "Alone now")
    alice.delete()
    assert not Comment.objects.exists() and not InboxItem.objects.exists()


# --- Cross-site scripting ----------------------------------------------------------------------

HARMLESS = "A plain sentence about caching."


def _comment_pages(doc, owner, reviewer, text: str) -> dict[str, str]:
    """Every page that shows a comment's text, after ``reviewer`` wrote ``text`` on an answer,
    on the whole doc and as a reply, and one refused (too long) and one throttled-off retry."""
    Comment.objects.filter(doc=doc).delete()
    body = form_text(text) or "."
    comment(reviewer, doc, body, prompt="business_goal")
    comment(reviewer, doc, body)
    root = Comment.objects.filter(doc=doc).first()
    comment(reviewer, doc, body, parent=root.pk)
    refused = reviewer.post(
        f"/docs/{doc.pk}/comments/", {"body": body + "x" * COMMENT_MAX_CHARS, "prompt": "x"}
    )
    htmx = reviewer.post(
        f"/docs/{doc.pk}/comments/",
        {"body": body, "prompt": "business_goal"},
        headers={"HX-Request": "true"},
    )
    edit = reviewer.get(f"/docs/{doc.pk}/comments/{root.pk}/edit/")
    pages = {
        "doc page (owner)": owner.get(f"/docs/{doc.pk}/"),
        "doc page (reviewer)": reviewer.get(f"/docs/{doc.pk}/"),
        "inbox": owner.get("/inbox/"),
        "refused comment": refused,
        "htmx fragment": htmx,
        "edit page": edit,
        "delete confirmation": owner.get(f"/docs/{doc.pk}/comments/{root.pk}/delete/"),
    }
    return {where: response.content.decode() for where, response in pages.items()}


@pytest.mark.parametrize("chunk", chunks(45), ids=chunk_ids(45))
def test_comments_show_the_xss_corpus_inert(doc, alice, dave, chunk):
    owner, reviewer = signed_in(alice), signed_in(dave)
    baseline = _comment_pages(doc, owner, reviewer, HARMLESS)
    for payload in chunk:
        InboxItem.objects.all().delete()
        COMMENTS_PER_USER.reset(str(dave.pk))
        for where, html in _comment_pages(doc, owner, reviewer, payload).items():
            assert_inert(html, baseline[where], payload=payload, where=where)


def test_a_shared_doc_trashed_by_its_owner_leaves_the_reviewers_doc_list_at_once(client, dave, doc):
    client.force_login(dave)
    link = f'href="/docs/{doc.pk}/"'
    assert link in client.get("/docs/").content.decode()  # now stored
    doc.move_to_trash()  # its updated_at stays as it was
    assert link not in client.get("/docs/").content.decode()


def test_a_reply_to_a_comment_numbered_in_superscript_is_refused_at_the_field(client, alice, doc):
    client.force_login(alice)
    response = client.post(f"/docs/{doc.pk}/comments/", {"body": "hi", "parent": "²"})
    assert response.status_code == 400
    assert "That comment has been deleted" in response.content.decode()
