"""Signed-in pages stored rendered (apps.core.caching.stored_page): the doc list and the wizard's
steps are served from the cache while nothing they show has changed, and never after it has.

Each test loads the page once (so that it is stored), changes one thing by the way a user or
editor would, and loads it again: the change must show. Tokens in a stored page must be the
visitor's own, or their next form would be refused (and their text with it); so are the
header's counts and an interview's clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import fsrs
import pytest
import time_machine
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.cache import cache, caches
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.concepts.models import Concept
from apps.core.caching import (
    MARK,
    VERSION_KEY,
    VERSION_STAMP,
    bump_content_version,
    content_version,
    stored_page,
)
from apps.core.models import Stamp
from apps.designdocs.models import DesignDoc, DocReviewer, Prompt
from apps.practice import scheduling
from apps.practice.models import Attempt, Card, Problem

pytestmark = pytest.mark.django_db

STEP = "problem-clarification"
KEY = "business_goal"


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Chargeback watch", problem="Stop fraud.")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _stored_then(client, url, change) -> tuple[str, str]:
    """The page before ``change`` (loaded twice, so the second comes from the cache) and
    after it."""
    _page(client, url)
    before = _page(client, url)
    change()
    return before, _page(client, url)


def _autosave(client, doc, value, version):
    return client.post(
        f"/docs/{doc.pk}/answers/{KEY}/",
        {KEY: value, f"version_{KEY}": version},
        headers={"HX-Request": "true"},
    )


# --- The doc list ------------------------------------------------------------------------------


def test_the_list_is_served_stored_until_a_doc_changes(signed_in, doc, same_minute):
    _page(signed_in, "/docs/")
    with CaptureQueriesContext(connection) as stored:
        _page(signed_in, "/docs/")
    read = " ".join(q["sql"] for q in stored.captured_queries)
    assert "title" not in read, "a stored list reads no docs"
    # One statement: the user, with the state of what the list shows.
    assert len(stored.captured_queries) == 1


def test_a_new_doc_appears_in_the_list_at_once(signed_in, alice):
    before, after = _stored_then(
        signed_in, "/docs/", lambda: signed_in.post("/docs/new/", {"title": "Spam filter"})
    )
    assert "Spam filter" not in before
    assert "Spam filter" in after


def test_a_renamed_doc_shows_its_new_title(signed_in, doc):
    before, after = _stored_then(
        signed_in,
        "/docs/",
        lambda: signed_in.post(f"/docs/{doc.pk}/rename/", {"title": "Card fraud", "problem": ""}),
    )
    assert "Chargeback watch" in before
    assert "Card fraud" in after and "Chargeback watch" not in after


def test_an_answer_saved_moves_the_progress_count(signed_in, doc):
    def answer():
        assert _autosave(signed_in, doc, "Fewer chargebacks.", 0).status_code == 200

    before, after = _stored_then(signed_in, "/docs/", answer)
    assert re.search(r">0 of \d+ answered<", before)
    assert re.search(r">1 of \d+ answered<", after)


def test_trash_restore_and_sharing_show_at_once(signed_in, doc, alice, bob):
    before, trashed = _stored_then(
        signed_in, "/docs/", lambda: signed_in.post(f"/docs/{doc.pk}/delete/")
    )
    assert ">Chargeback watch</a>" in before and "Trash (1)" not in before
    assert ">Chargeback watch</a>" not in trashed and "Trash (1)" in trashed
    signed_in.post(f"/docs/{doc.pk}/restore/")
    assert ">Chargeback watch</a>" in _page(signed_in, "/docs/")

    theirs = DesignDoc.objects.create(owner=bob, title="Bob's ranking doc")
    invite = DocReviewer.objects.create(doc=theirs, user=alice)
    shared = _page(signed_in, "/docs/")
    assert "Shared with me" in shared and "Bob&#x27;s ranking doc" in shared
    theirs.title = "Bob's search ranking"
    theirs.save()
    assert "Bob&#x27;s search ranking" in _page(signed_in, "/docs/")
    invite.delete()
    assert "Shared with me" not in _page(signed_in, "/docs/")


def test_each_user_sees_only_their_own_stored_list(doc, alice, bob):
    mine, theirs = Client(), Client()
    mine.force_login(alice)
    theirs.force_login(bob)
    assert "Chargeback watch" in _page(mine, "/docs/")
    assert "Chargeback watch" not in _page(theirs, "/docs/")


# --- A wizard step -----------------------------------------------------------------------------


def _field(page: str) -> tuple[str, str]:
    """The business-goal textarea's text and the version the page would save on."""
    text = re.search(rf'<textarea name="{KEY}"[^>]*>\n?(.*?)</textarea>', page, re.S).group(1)
    version = re.search(rf'name="version_{KEY}" id="version-{KEY}" value="(\d+)"', page).group(1)
    return text, version


def test_a_step_shows_the_answer_just_saved_and_its_version(signed_in, doc):
    url = f"/docs/{doc.pk}/steps/{STEP}/"
    before, after = _stored_then(
        signed_in, url, lambda: _autosave(signed_in, doc, "Cut chargebacks by half.", 0)
    )
    assert _field(before) == ("", "0")
    assert _field(after) == ("Cut chargebacks by half.", "1")
    _autosave(signed_in, doc, "Cut chargebacks by 60 %.", 1)
    assert _field(_page(signed_in, url)) == ("Cut chargebacks by 60 %.", "2")


def test_a_step_follows_a_restored_revision(signed_in, doc):
    url = f"/docs/{doc.pk}/steps/{STEP}/"
    _autosave(signed_in, doc, "First idea.", 0)
    revision = doc.record_revision("checkpoint")
    _autosave(signed_in, doc, "Second idea.", 1)
    assert _field(_page(signed_in, url))[0] == "Second idea."
    doc.restore(revision)
    assert _field(_page(signed_in, url))[0] == "First idea."


def test_an_editor_changing_a_question_shows_on_stored_steps(signed_in, doc):
    url = f"/docs/{doc.pk}/steps/{STEP}/"
    prompt = Prompt.objects.get(key=KEY)

    def edit():
        prompt.question = "What business outcome should this system move?"
        prompt.save()

    before, after = _stored_then(signed_in, url, edit)
    assert "What business outcome should this system move?" not in before
    assert "What business outcome should this system move?" in after


def test_an_edit_to_the_problem_statement_shows_on_stored_steps_at_once(signed_in, doc):
    url = f"/docs/{doc.pk}/steps/{STEP}/"

    def edit():
        data = {"title": "Chargeback watch", "problem": "Stop card fraud within 100 ms."}
        assert signed_in.post(f"/docs/{doc.pk}/rename/", data).status_code == 302

    before, after = _stored_then(signed_in, url, edit)
    assert "<p>Stop fraud.</p>" in before
    assert "<p>Stop card fraud within 100 ms.</p>" in after and "<p>Stop fraud.</p>" not in after


def test_an_editor_changing_an_interviews_scale_shows_on_stored_steps(alice):
    problem = Problem.objects.get(slug="ads-click-prediction")
    attempt = Attempt.start(alice, problem, 45)
    client = Client()
    client.force_login(alice)
    url = f"/docs/{attempt.doc.pk}/steps/{STEP}/"

    def edit():
        problem.scale = "Two million ad requests a second at peak."
        problem.save()

    before, after = _stored_then(client, url, edit)
    assert "Two million ad requests" not in before
    assert "<strong>Scale:</strong> Two million ad requests a second at peak." in after


def test_stored_pages_carry_each_visitors_own_csrf_token(doc, alice):
    """Two browsers of one writer share the stored step; each posts with its own token."""
    url = f"/docs/{doc.pk}/steps/{STEP}/"
    browsers = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    tokens = []
    for browser in browsers:
        browser.force_login(alice)
        page = _page(browser, url)
        assert MARK not in page
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1))
    assert tokens[0] != tokens[1]
    for version, (browser, token) in enumerate(zip(browsers, tokens, strict=True)):
        response = browser.post(
            url, {"csrfmiddlewaretoken": token, KEY: f"Saved from browser {version}",
                  f"version_{KEY}": version, "go": "stay"},
        )  # fmt: skip
        assert response.status_code == 302, response.content[:300]
    assert _field(_page(browsers[0], url))[0] == "Saved from browser 1"

    listing = _page(browsers[1], "/docs/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', listing).group(1)
    created = browsers[1].post("/docs/new/", {"csrfmiddlewaretoken": token, "title": "Churn"})
    assert created.status_code == 302


def test_a_stranger_gets_no_stored_step(doc, bob):
    owner_view = Client()
    owner_view.force_login(doc.owner)
    _page(owner_view, f"/docs/{doc.pk}/steps/{STEP}/")
    stranger = Client()
    stranger.force_login(bob)
    assert stranger.get(f"/docs/{doc.pk}/steps/{STEP}/").status_code == 404


# --- The request's own parts of a stored page ---------------------------------------------------


def _stored(client, url) -> str:
    """The page, asserted to come from the store: no query reads an answer's text or a title."""
    with CaptureQueriesContext(connection) as queries:
        page = _page(client, url)
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert '"designdocs_answer"."value"' not in read, read
    assert '"designdocs_designdoc"."title"' not in read, read
    return page


def test_header_counts_are_each_requests_own_on_a_stored_page(signed_in, doc, alice, bob):
    url = f"/docs/{doc.pk}/steps/{STEP}/"
    for page in (_page(signed_in, "/docs/"), _page(signed_in, url)):
        assert "cards due" not in page and "unread</span>" not in page
    DocReviewer.objects.create(doc=doc, user=bob)
    reviewer = Client()
    reviewer.force_login(bob)
    assert reviewer.post(f"/docs/{doc.pk}/comments/", {"body": "Why half?"}).status_code < 400
    for card in Card.objects.active()[:4]:
        scheduling.grade(alice, card.pk, fsrs.Rating.Again, 0, timezone.now() - timedelta(days=1))
    for page in (_stored(signed_in, "/docs/"), _stored(signed_in, url)):
        assert '<a href="/inbox/" class="inbox-link">Inbox <span class="due-badge">1<' in page
        assert '>1<span class="visually-hidden"> unread</span></span></a>' in page
        assert '>4<span class="visually-hidden"> cards due</span>' in page
        assert MARK not in page


def test_an_interviews_clock_keeps_running_on_a_stored_step(alice):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        attempt = Attempt.start(alice, Problem.objects.get(slug="ads-click-prediction"), 45)
    client = Client()
    client.force_login(alice)
    url = f"/docs/{attempt.doc.pk}/steps/{STEP}/"
    left = []
    for minutes in (1, 1, 4):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            page = _page(client, url) if not left else _stored(client, url)
        left.append(int(re.search(r'data-left="(\d+)"', page).group(1)))
    assert left == [44 * 60, 44 * 60, 41 * 60]


def test_a_page_with_a_message_is_shown_once_and_not_stored(signed_in, alice):
    request = RequestFactory().get("/docs/")
    request.user = alice
    request.session = signed_in.session
    request._messages = FallbackStorage(request)
    messages.success(request, "Saved the diagram.")
    shown = []

    def render(extra):
        shown.append(extra)
        return HttpResponse("page")

    assert stored_page(request, "a-key", render).content == b"page"
    assert shown == [{}]  # rendered for this request, with its message, not to be stored


def test_a_renamed_user_sees_their_new_name_on_a_stored_page(signed_in, doc, alice):
    _page(signed_in, "/docs/")
    alice.username = "alice-renamed"
    alice.save()
    shown = '<span class="account-name" title="alice-renamed">alice-renamed</span>'
    assert shown in _page(signed_in, "/docs/")


def test_an_address_with_a_query_string_is_rendered_not_stored(signed_in, doc):
    """Any ?q=… shows on the page ("You searched for"): storing each would let one reader make
    stored copies without end."""
    _page(signed_in, "/docs/?page=1")
    for url in ("/docs/?page=1", "/docs/?q=fraud", f"/docs/{doc.pk}/steps/{STEP}/?x=1"):
        with CaptureQueriesContext(connection) as queries:
            page = _page(signed_in, url)
        read = " ".join(q["sql"] for q in queries.captured_queries)
        assert '"designdocs_designdoc"."title"' in read or '"designdocs_answer"."value"' in read
        assert MARK not in page
    assert "You searched for “fraud”" in _page(signed_in, "/docs/?q=fraud")


# --- Content pages: one stored copy for every signed-in reader ----------------------------------

CONTENT_PAGES = ["/", "/concepts/", "/concepts/tcp/", "/metrics/", "/metrics/ctr/"]


def _account_name(page: str) -> str:
    return re.search(r'<span class="account-name" title="([^"]*)">', page).group(1)


@pytest.mark.parametrize("url", CONTENT_PAGES)
def test_a_content_page_is_stored_once_for_every_signed_in_reader(url, alice, bob):
    readers = []
    for user in (alice, bob):
        reader = Client(enforce_csrf_checks=True)
        reader.force_login(user)
        readers.append(reader)
    first = _page(readers[0], url)
    with CaptureQueriesContext(connection) as queries:
        second = _page(readers[1], url)
    assert len(queries.captured_queries) == 1, "the reader, nothing of the page"
    assert (_account_name(first), _account_name(second)) == ("alice", "bob")
    assert "alice" not in second and MARK not in second
    tokens = [re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1) for page in (first, second)]
    assert tokens[0] != tokens[1]
    signed_out = readers[1].post("/accounts/logout/", headers={"X-CSRFToken": tokens[1]})
    assert signed_out.status_code == 302, "the token on the stored copy is bob's own"
    assert _page(Client(), url) == _page(Client(), url)  # anonymous readers: as before


def test_a_content_edit_reaches_signed_in_readers_at_once(signed_in):
    _page(signed_in, "/concepts/tcp/")
    assert "Edited at once." not in _stored_content(signed_in, "/concepts/tcp/")
    concept = Concept.objects.get(slug="tcp")
    concept.body += "\n\nEdited at once."
    concept.save()
    assert "Edited at once." in _page(signed_in, "/concepts/tcp/")


def test_a_page_served_again_asks_the_cache_nothing_and_the_database_once(signed_in, monkeypatch):
    """The process keeps the pages it served: the session, the user, the header's counts and
    the content version are read in one statement (apps.accounts.sessions), and nothing else
    is asked."""
    _page(signed_in, "/concepts/tcp/")
    trips = []
    shared = caches["default"]

    def counted(name, asked):
        def ask(*args, **kwargs):
            trips.append(name)
            return asked(*args, **kwargs)

        return ask

    for name in ("get", "get_many", "get_or_set", "set", "set_many", "add", "incr", "delete"):
        monkeypatch.setattr(shared, name, counted(name, getattr(shared, name)))
    with CaptureQueriesContext(connection) as queries:
        page = _page(signed_in, "/concepts/tcp/")
    assert trips == []
    [read] = [query["sql"] for query in queries.captured_queries]
    assert '"accounts_session"' in read and '"auth_user"' in read and "core_stamp" in read
    assert _account_name(page) == "alice"


def test_a_kept_page_gives_way_to_a_change_made_by_another_process(signed_in):
    _page(signed_in, "/concepts/tcp/")
    assert "Changed elsewhere." not in _page(signed_in, "/concepts/tcp/")
    # Another process changes the page and bumps the version: nothing of it happens here.
    Concept.objects.filter(slug="tcp").update(
        body_html=Concat("body_html", Value("Changed elsewhere."))
    )
    assert "Changed elsewhere." not in _page(signed_in, "/concepts/tcp/"), "the version it read"
    cache.set(VERSION_KEY, content_version() + 1)
    Stamp.objects.filter(name=VERSION_STAMP).update(value="bumped-elsewhere")
    assert "Changed elsewhere." in _page(signed_in, "/concepts/tcp/")


def test_a_kept_page_gives_way_to_the_database_version_alone(signed_in):
    """The cache's version is not asked for a page kept in memory: the database's decides."""
    _page(signed_in, "/concepts/tcp/")
    _page(signed_in, "/concepts/tcp/")
    Concept.objects.filter(slug="tcp").update(body_html=Concat("body_html", Value("Changed.")))
    cache.set(VERSION_KEY, content_version() + 1)
    assert "Changed." not in _page(signed_in, "/concepts/tcp/")
    Stamp.objects.filter(name=VERSION_STAMP).update(value="bumped-elsewhere")
    assert "Changed." in _page(signed_in, "/concepts/tcp/")


def test_a_bump_stamps_a_new_version_in_the_database_too(db):
    versions = set()
    for _ in range(3):
        bump_content_version()
        versions.add(Stamp.read(VERSION_STAMP))
    assert len(versions) == 3 and "" not in versions


def test_a_kept_page_and_the_signed_in_reader_outlive_a_cache_that_starts_empty(signed_in):
    """A restarted Redis has no version and no pages: the reader stays signed in (sessions
    are in the database), and an edit made afterwards shows at once."""
    _page(signed_in, "/concepts/tcp/")
    _page(signed_in, "/concepts/tcp/")
    cache.clear()
    assert _account_name(_page(signed_in, "/concepts/tcp/")) == "alice"
    Concept.objects.filter(slug="tcp").update(body_html=Concat("body_html", Value("Changed.")))
    bump_content_version()
    page = _page(signed_in, "/concepts/tcp/")
    assert "Changed." in page and _account_name(page) == "alice"


def _stored_content(client, url) -> str:
    with CaptureQueriesContext(connection) as queries:
        page = _page(client, url)
    assert len(queries.captured_queries) <= 1, [q["sql"] for q in queries.captured_queries]
    return page


def test_a_content_page_asked_otherwise_shows_its_own_reader(signed_in, alice):
    """A query string or an HTMX request is rendered for the request, with the reader
    themself: never the stand-in a stored copy is rendered for."""
    _page(signed_in, "/concepts/tcp/")
    page = _page(signed_in, "/concepts/tcp/?q=latency")
    assert _account_name(page) == "alice" and MARK not in page
    assert "You searched for “latency”" in page
    boosted = signed_in.get("/concepts/tcp/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert _account_name(boosted.text) == "alice" and MARK not in boosted.text
