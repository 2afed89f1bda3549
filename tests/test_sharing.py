"""Sharing a design doc: read-only links, named reviewers, and who may reach which doc URL.

The cast: alice owns the doc; dave is its named reviewer; erin reviews another of alice's docs;
carol is signed in and holds a live read-only link; bob is a stranger. Anonymous visitors hold
a live, a revoked or an expired link, or nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.designdocs.models import (
    REVIEWERS_PER_DOC,
    SHARE_LINKS_PER_DOC,
    DesignDoc,
    Diagram,
    DocReviewer,
    ShareLink,
)
from apps.reviews.models import Comment

pytestmark = pytest.mark.django_db

User = get_user_model()


def make_user(name: str):
    return User.objects.create_user(name, f"{name}@example.com", "a-long-unusual-pass-88")


@dataclass
class World:
    alice: User
    dave: User
    doc: DesignDoc
    other_doc: DesignDoc
    diagram: Diagram
    comment: Comment
    revision_pk: int
    link: ShareLink
    token: str
    revoked_token: str
    expired_token: str
    reviewer_pk: int


@pytest.fixture
def world(alice) -> World:
    doc = DesignDoc.objects.create(owner=alice, title="Fraud detection", problem="Stop fraud.")
    doc.answers.create(prompt_id=_prompt_pk("business_goal"), value="Plain answer zq7.", version=1)
    revision = doc.record_revision("x")
    other = DesignDoc.objects.create(owner=alice, title="Feed ranking")
    dave, erin = make_user("dave"), make_user("erin")
    reviewer = DocReviewer.objects.create(doc=doc, user=dave)
    DocReviewer.objects.create(doc=other, user=erin)
    link, token = ShareLink.make(doc, "Mock interview")
    revoked, revoked_token = ShareLink.make(doc, "Revoked")
    revoked.delete()
    _, expired_token = ShareLink.make(doc, "Expired", timezone.now() - timedelta(minutes=1))
    comment = Comment.objects.create(doc=doc, author=alice, body="Owner's note")
    diagram = Diagram.start(doc, "Serving path", "client -> ranker")
    return World(alice, dave, doc, other, diagram, comment, revision.pk, link, token,
                 revoked_token, expired_token, reviewer.pk)  # fmt: skip


def _prompt_pk(key: str) -> int:
    from apps.designdocs.models import Prompt

    return Prompt.objects.get(key=key).pk


ROLES = ["owner", "reviewer", "reviewer of another doc", "link reader", "revoked link",
         "expired link", "stranger", "anonymous"]  # fmt: skip
SIGNED_IN = {"owner": "alice", "reviewer": "dave", "reviewer of another doc": "erin",
             "link reader": "carol", "stranger": "bob"}  # fmt: skip


def client_for(role: str, world: World) -> Client:
    client = Client()
    if role in SIGNED_IN:
        name = SIGNED_IN[role]
        user = User.objects.filter(username=name).first() or make_user(name)
        client.force_login(user)
    if role == "link reader":
        assert client.get(f"/shared/{world.token}/").status_code == 200
    return client


# Every URL of a doc: what it takes, and who may use it. Everyone else gets 404 (or, signed
# out, the sign-in page), whatever the method, with or without HTMX.
DOC_URLS = [
    # (name, path, methods, roles allowed)
    ("document", "/docs/{pk}/", {"GET"}, {"owner", "reviewer"}),
    ("comment", "/docs/{pk}/comments/", {"POST"}, {"owner", "reviewer"}),
    ("edit a comment", "/docs/{pk}/comments/{comment}/edit/", {"GET", "POST"}, {"owner"}),
    ("delete a comment", "/docs/{pk}/comments/{comment}/delete/", {"GET", "POST"}, {"owner"}),
    ("resolve a thread", "/docs/{pk}/comments/{comment}/resolve/", {"POST"}, {"owner"}),
    ("export", "/docs/{pk}/export.md", {"GET"}, {"owner"}),
    ("export with comments", "/docs/{pk}/export.md?include=comments", {"GET"}, {"owner"}),
    ("history", "/docs/{pk}/history/", {"GET"}, {"owner"}),
    ("restore a revision", "/docs/{pk}/history/{revision}/restore/", {"GET", "POST"}, {"owner"}),
    ("answer timeline", "/docs/{pk}/history/answers/business_goal/", {"GET"}, {"owner"}),
    ("wizard step", "/docs/{pk}/steps/problem-clarification/", {"GET", "POST"}, {"owner"}),
    ("autosave", "/docs/{pk}/answers/business_goal/", {"POST"}, {"owner"}),
    ("metric picker", "/docs/{pk}/pickers/offline_metrics/", {"GET"}, {"owner"}),
    ("rename", "/docs/{pk}/rename/", {"POST"}, {"owner"}),
    ("duplicate", "/docs/{pk}/duplicate/", {"POST"}, {"owner"}),
    ("move to trash", "/docs/{pk}/delete/", {"POST"}, {"owner"}),
    ("new diagram", "/docs/{pk}/diagrams/new/", {"POST"}, {"owner"}),
    ("diagram editor", "/docs/{pk}/diagrams/{diagram}/", {"GET", "POST"}, {"owner"}),
    ("diagram autosave", "/docs/{pk}/diagrams/{diagram}/save/", {"POST"}, {"owner"}),
    ("diagram preview", "/docs/{pk}/diagrams/{diagram}/preview/", {"POST"}, {"owner"}),
    ("rename a diagram", "/docs/{pk}/diagrams/{diagram}/rename/", {"POST"}, {"owner"}),
    ("delete a diagram", "/docs/{pk}/diagrams/{diagram}/delete/", {"POST"}, {"owner"}),
    ("share page", "/docs/{pk}/share/", {"GET"}, {"owner"}),
    ("make a link", "/docs/{pk}/share/links/", {"POST"}, {"owner"}),
    ("revoke a link", "/docs/{pk}/share/links/{link}/revoke/", {"POST"}, {"owner"}),
    ("invite a reviewer", "/docs/{pk}/share/reviewers/", {"POST"}, {"owner"}),
    ("remove a reviewer", "/docs/{pk}/share/reviewers/{reviewer}/remove/", {"POST"}, {"owner"}),
]  # fmt: skip
POSTED = {"title": "Changed", "body": "A comment", "business_goal": "Overwritten",
          "version_business_goal": "1", "who": "bob", "label": "Another",
          "resolved": "1"}  # fmt: skip


def _path(template: str, world: World) -> str:
    return template.format(
        pk=world.doc.pk, comment=world.comment.pk, revision=world.revision_pk,
        diagram=world.diagram.pk, link=world.link.pk,
        reviewer=world.reviewer_pk,
    )  # fmt: skip


def _state(world: World) -> tuple:
    doc = DesignDoc.objects.get(pk=world.doc.pk)
    return (doc.title, doc.deleted_at, list(doc.answers.values_list("value", "version")),
            doc.comments.count(), doc.share_links.count(), doc.reviewers.count(),
            doc.diagrams.count(), doc.revisions.count(), DesignDoc.objects.count())  # fmt: skip


def _bring_back(world: World) -> None:
    """Undo what the owner's requests delete, with the same ids, so every URL still names it."""
    DesignDoc.objects.filter(pk=world.doc.pk).update(deleted_at=None)
    for instance in (world.comment, world.link, world.diagram):
        if not type(instance).objects.filter(pk=instance.pk).exists():
            instance.save(force_insert=True)
    if not world.doc.reviewers.filter(user=world.dave).exists():
        DocReviewer.objects.create(pk=world.reviewer_pk, doc=world.doc, user=world.dave)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "template", "methods", "allowed"), DOC_URLS, ids=[u[0] for u in DOC_URLS]
)
def test_who_may_do_what_on_every_doc_url(role, name, template, methods, allowed, world):
    client = client_for(role, world)
    path = _path(template, world)
    before = _state(world)
    for method in ("GET", "POST"):
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            call = client.get if method == "GET" else client.post
            data = {} if method == "GET" else POSTED
            response = call(path, data, headers=headers)
            where = f"{role}: {method}{' (htmx)' if htmx else ''} {path}"
            if role not in SIGNED_IN:
                assert response.status_code == 302, where
                assert response.url.startswith("/accounts/login/?next="), where
            elif role not in allowed:
                assert response.status_code == 404, where
            elif method not in methods:
                assert response.status_code == 405, where
            else:
                assert response.status_code not in {403, 404, 405}, where
                assert response.status_code < 500, where
            _bring_back(world)  # the owner's writes happen; the next request meets the same doc
    if role not in allowed:
        assert _state(world) == before, f"{role} changed the doc through {path}"


@pytest.mark.parametrize("role", ["owner", "reviewer", "link reader", "stranger", "anonymous"])
def test_restoring_from_the_trash_is_the_owner_alone(role, world):
    world.doc.move_to_trash()
    client = client_for("stranger" if role == "link reader" else role, world)
    response = client.post(f"/docs/{world.doc.pk}/restore/")
    world.doc.refresh_from_db()
    if role == "owner":
        assert response.status_code == 302 and world.doc.deleted_at is None
    else:
        assert response.status_code in {302, 404} and world.doc.deleted_at is not None
        if role != "anonymous":
            assert response.status_code == 404


def test_a_trashed_doc_is_closed_to_its_reviewers_and_links(world):
    world.doc.move_to_trash()
    assert client_for("reviewer", world).get(f"/docs/{world.doc.pk}/").status_code == 404
    assert Client().get(f"/shared/{world.token}/").status_code == 404
    world.doc.restore_from_trash()
    assert client_for("reviewer", world).get(f"/docs/{world.doc.pk}/").status_code == 200
    assert Client().get(f"/shared/{world.token}/").status_code == 200


# --- The read-only link ------------------------------------------------------------------------


def test_a_live_link_shows_the_doc_and_its_diagrams_to_anyone(world):
    response = Client().get(f"/shared/{world.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fraud detection" in html and "Plain answer zq7." in html
    assert "Serving path" in html and "<svg" in html, "diagrams are drawn on the page"
    # Nothing on it leads into the doc's other URLs, and the review is not part of it.
    assert f"/docs/{world.doc.pk}/" not in html
    assert "Owner&#x27;s note" not in html and "Owner's note" not in html
    assert 'name="body"' not in html


@pytest.mark.parametrize(
    "which", ["revoked", "expired", "made up", "too long", "the hash itself", "empty-ish"]
)
def test_a_dead_or_wrong_token_is_404(world, which):
    token = {
        "revoked": world.revoked_token,
        "expired": world.expired_token,
        "made up": "A" * 43,
        "too long": world.token * 3,
        "the hash itself": world.link.token_hash,
        "empty-ish": "-",
    }[which]
    for headers in ({}, {"HX-Request": "true"}):
        assert Client().get(f"/shared/{token}/", headers=headers).status_code == 404


def test_the_link_page_takes_no_writes(world):
    client = Client()
    assert client.post(f"/shared/{world.token}/", {"body": "x"}).status_code == 405
    htmx = client.get(f"/shared/{world.token}/", headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert client.head(f"/shared/{world.token}/").status_code == 200


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_link_page_is_private_unindexed_and_sends_no_referrer(world, signed_in):
    client = client_for("stranger", world) if signed_in else Client()
    response = client.get(f"/shared/{world.token}/")
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="referrer" content="no-referrer">' in html


def test_the_link_page_is_never_in_the_anonymous_page_cache(world, client):
    first = client.get(f"/shared/{world.token}/")
    assert "X-Page-Cache" not in first
    world.doc.answers.update(value="Changed after the first visit.")
    world.doc.answers.get().save()  # renders value_html again
    second = client.get(f"/shared/{world.token}/")
    assert "X-Page-Cache" not in second, "served from the page cache"
    assert "Changed after the first visit." in second.content.decode()
    # And once revoked it opens nothing, however recently it was read.
    world.link.delete()
    assert client.get(f"/shared/{world.token}/").status_code == 404


def test_the_link_page_is_not_in_the_search_index_and_robots_stay_out(world, client):
    client.force_login(make_user("frank"))
    results = client.get("/search/", {"q": "Fraud detection", "all": "1"}).content.decode()
    assert "/shared/" not in results and f"/docs/{world.doc.pk}/" not in results
    assert "Disallow: /shared/" in Client().get("/robots.txt").content.decode()


def test_tokens_are_stored_hashed_and_compared_in_constant_time(world, monkeypatch):
    assert len(world.token) >= 43, "at least 256 bits, URL-safe"
    assert not ShareLink.objects.filter(token_hash=world.token).exists()
    assert world.link.token_hash == hashlib.sha256(world.token.encode()).hexdigest()
    compared = []
    import apps.designdocs.models as models

    real = models.hmac.compare_digest
    monkeypatch.setattr(
        models.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b)
    )
    assert ShareLink.find(world.token) == world.link
    assert compared == [(world.link.token_hash, world.link.token_hash)]


def test_two_links_never_share_a_token(world):
    tokens = {ShareLink.make(world.doc, f"L{n}")[1] for n in range(10)}
    assert len(tokens) == 10


# --- The share page ----------------------------------------------------------------------------


@pytest.fixture
def owner(client, world):
    client.force_login(world.alice)
    return client


def test_making_a_link_shows_it_once_then_only_its_label(owner, world):
    response = owner.post(
        f"/docs/{world.doc.pk}/share/links/", {"label": "For Sam", "expires": "7"}, follow=True
    )
    html = response.content.decode()
    link = world.doc.share_links.get(label="For Sam")
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    url = html.split('id="new-link-url" value="')[1].split('"')[0]
    assert url.startswith("http://testserver/shared/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert ShareLink.find(token) == link
    again = owner.get(f"/docs/{world.doc.pk}/share/").content.decode()
    assert "For Sam" in again and token not in again, "the token is shown only once"


def test_a_link_needs_a_label_of_at_most_100_characters(owner, world):
    for label, message in [("  ", "Name the link"), ("x" * 101, "Keep the label to 100")]:
        response = owner.post(f"/docs/{world.doc.pk}/share/links/", {"label": label})
        assert response.status_code == 400 and message in response.content.decode()
    bad = owner.post(f"/docs/{world.doc.pk}/share/links/", {"label": "ok", "expires": "5000"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    assert world.doc.share_links.count() == 2  # the fixture's live and expired links


def test_a_doc_has_at_most_20_links(owner, world):
    for n in range(SHARE_LINKS_PER_DOC - world.doc.share_links.count()):
        ShareLink.make(world.doc, f"Link {n}")
    response = owner.post(f"/docs/{world.doc.pk}/share/links/", {"label": "One more"})
    assert response.status_code == 400 and "at most 20 links" in response.content.decode()
    assert world.doc.share_links.count() == SHARE_LINKS_PER_DOC


def test_revoking_a_link_ends_it_at_once(owner, world):
    response = owner.post(f"/docs/{world.doc.pk}/share/links/{world.link.pk}/revoke/")
    assert response.status_code == 302
    assert Client().get(f"/shared/{world.token}/").status_code == 404


def test_an_expired_link_is_listed_as_expired(owner, world):
    html = owner.get(f"/docs/{world.doc.pk}/share/").content.decode()
    assert "Expired" in html and "expired" in html.split("<strong>Expired</strong>")[1][:300]


def test_inviting_by_username_or_email_mails_the_reviewer(
    owner, world, django_capture_on_commit_callbacks
):
    make_user("gina")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": "GINA@example.com"})
    assert response.status_code == 302
    assert world.doc.reviewers.filter(user__username="gina").exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["gina@example.com"] and "Fraud detection" in message.subject
    assert f"http://testserver/docs/{world.doc.pk}/" in message.body
    gina = Client()
    gina.force_login(User.objects.get(username="gina"))
    listing = gina.get("/docs/").content.decode()
    assert "Shared with me" in listing and "Fraud detection" in listing and "alice" in listing
    assert gina.get(f"/docs/{world.doc.pk}/").status_code == 200


def test_a_username_is_found_in_any_case_as_sign_in_finds_it(owner, world):
    make_user("hugo")
    response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": " HuGo "})
    assert response.status_code == 302
    assert world.doc.reviewers.filter(user__username="hugo").exists()
    response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": "DAVE"})
    assert response.status_code == 400 and "dave is already a reviewer" in response.text


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("nobody", "No account is called or uses"),
        ("alice", "That is you"),
        ("dave", "dave is already a reviewer"),
        ("", "Type the reviewer"),
        ("x" * 255, "at most 254 characters"),
    ],
)
def test_an_invitation_that_cannot_be_made_says_why_at_the_field(owner, world, who, message):
    response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": who})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert len(mail.outbox) == 0 and world.doc.reviewers.count() == 1


def test_a_doc_has_at_most_50_reviewers(owner, world):
    for n in range(REVIEWERS_PER_DOC - 1):
        DocReviewer.objects.create(doc=world.doc, user=make_user(f"r{n}"))
    make_user("one-more")
    response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": "one-more"})
    assert response.status_code == 400 and "at most 50 reviewers" in response.content.decode()


def test_invitations_are_throttled_before_any_account_is_looked_up(owner, world):
    from apps.designdocs.sharing import INVITES_PER_USER

    for _ in range(INVITES_PER_USER.limit):
        owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": "nobody"})
    make_user("hana")
    response = owner.post(f"/docs/{world.doc.pk}/share/reviewers/", {"who": "hana"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "many invitations" in response.content.decode()
    assert not world.doc.reviewers.filter(user__username="hana").exists()


def test_removing_a_reviewer_ends_their_access_at_once(owner, world):
    reviewer = client_for("reviewer", world)
    assert reviewer.get(f"/docs/{world.doc.pk}/").status_code == 200
    row = world.doc.reviewers.get(user=world.dave)
    assert owner.post(f"/docs/{world.doc.pk}/share/reviewers/{row.pk}/remove/").status_code == 302
    assert reviewer.get(f"/docs/{world.doc.pk}/").status_code == 404
    assert reviewer.post(f"/docs/{world.doc.pk}/comments/", {"body": "x"}).status_code == 404
    assert 'id="shared-title"' not in reviewer.get("/docs/").content.decode()


def test_the_reviewer_page_is_read_only(world):
    html = client_for("reviewer", world).get(f"/docs/{world.doc.pk}/").content.decode()
    assert "Plain answer zq7." in html and "Serving path" in html
    assert "alice asked you to review" in html
    for owner_only in ["/steps/", "/history/", "/export.md", "/rename/", "/delete/",
                       "/share/", "/diagrams/", "/duplicate/"]:  # fmt: skip
        assert f"/docs/{world.doc.pk}{owner_only}" not in html, owner_only


def test_the_owner_page_offers_sharing_and_the_export_with_comments(owner, world):
    html = owner.get(f"/docs/{world.doc.pk}/").content.decode()
    assert f'href="/docs/{world.doc.pk}/share/"' in html
    assert f"/docs/{world.doc.pk}/export.md?include=comments" in html


def test_deleting_an_account_ends_its_docs_links_and_invitations(owner, world):
    response = owner.post("/accounts/delete/", {"password": "correct-horse-9"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert not ShareLink.objects.exists() and not DocReviewer.objects.exists()
    assert Client().get(f"/shared/{world.token}/").status_code == 404
    assert client_for("reviewer", world).get(f"/docs/{world.doc.pk}/").status_code == 404


def test_deleting_a_reviewer_account_ends_their_invitations(world):
    world.dave.delete()
    assert not DocReviewer.objects.filter(doc=world.doc).exists()
