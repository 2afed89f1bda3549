"""Sign up, sign in, sign out, password change and reset."""

import html
import re
from datetime import timedelta
from importlib import import_module

import fsrs
import pytest
from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts import sessions
from apps.accounts.backends import read_with_user, user_and
from apps.accounts.middleware import AuthenticationMiddleware
from apps.accounts.models import Session
from apps.accounts.sessions import SessionStore
from apps.core.sql import columns
from apps.designdocs.models import DesignDoc, Prompt
from apps.practice import scheduling
from apps.practice.models import Card
from apps.reviews import threads
from apps.reviews.models import InboxItem, unread_count

pytestmark = pytest.mark.django_db


def test_sign_up_creates_an_account_and_signs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-long-unusual-pass-88",
            "password2": "a-long-unusual-pass-88",
        },
    )
    assert response.status_code == 302 and response.url == "/docs/"
    assert get_user_model().objects.filter(username="carol").exists()
    assert client.get("/docs/").status_code == 200


def test_sign_up_explains_a_weak_password_and_keeps_the_username(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "dave", "email": "d@example.com", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    assert "too short" in response.text
    assert 'value="dave"' in response.text
    assert not get_user_model().objects.filter(username="dave").exists()
    form = response.context["form"]  # said at the field it is about, not at the confirmation
    assert "too short" in " ".join(form.errors["password1"])
    assert "password2" not in form.errors


def test_sign_up_refuses_a_taken_email(client, alice):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "other",
            "email": "ALICE@example.com",
            "password1": "a-long-unusual-pass-88",
            "password2": "a-long-unusual-pass-88",
        },
    )
    assert "An account with this email exists" in response.text


def test_log_in_and_log_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    assert response.status_code == 302
    assert client.get("/docs/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert "Create a free account" in client.get("/docs/").text, "signed out again"


def sign_in_link(response) -> str:
    match = re.search(r'<a href="([^"]*)">Sign in</a>', response.text)
    assert match, response.text
    return html.unescape(match.group(1))


def test_the_headers_sign_in_link_comes_back_to_the_page(client, alice):
    assert sign_in_link(client.get("/concepts/")) == "/accounts/login/?next=/concepts/"
    assert sign_in_link(client.get("/concepts/")) == "/accounts/login/?next=/concepts/", "cached"
    link = sign_in_link(client.get("/search/?q=qxzwobble&all=1"))
    assert link == "/accounts/login/?next=/search/%3Fq%3Dqxzwobble%26all%3D1"
    response = client.post(link, {"username": "alice", "password": "correct-horse-9"})
    assert response.status_code == 302 and response.url == "/search/?q=qxzwobble&all=1"


def test_the_sign_in_and_sign_up_pages_keep_where_the_reader_was_going(client):
    assert sign_in_link(client.get("/accounts/login/")) == "/accounts/login/", "not to itself"
    assert sign_in_link(client.get("/accounts/signup/?next=/docs/")) == (
        "/accounts/login/?next=/docs/"
    )
    assert sign_in_link(client.get("/accounts/login/?next=/docs/3/")) == (
        "/accounts/login/?next=/docs/3/"
    )


def test_wrong_password_is_explained(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.text


def test_a_session_made_before_the_raw_user_backend_still_signs_in(client, alice):
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert '<span class="account-name" title="alice">alice</span>' in client.get("/docs/").text


def test_sign_in_ignores_the_case_of_the_username_as_sign_up_does(client, alice):
    response = client.post("/accounts/signup/", {
        "username": "Alice", "email": "other@example.com",
        "password1": "a-long-unusual-pass-88", "password2": "a-long-unusual-pass-88",
    })  # fmt: skip
    assert response.status_code == 200 and get_user_model().objects.count() == 1
    for typed in ("ALICE", "Alice", " alice "):
        signing_in = Client()
        response = signing_in.post(
            "/accounts/login/", {"username": typed, "password": "correct-horse-9"}
        )
        assert response.status_code == 302, typed
        assert signing_in.session["_auth_user_id"] == str(alice.pk)
    response = client.post("/accounts/login/", {"username": "ALICE", "password": "wrong-9"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_failed_sign_in_says_truly_that_only_the_password_is_case_sensitive(client, path):
    get_user_model().objects.create_user(
        "erin", "erin@example.com", "Pass-of-erin-42", is_staff=True
    )
    response = client.post(path, {"username": "erin", "password": "pass-of-erin-42"})
    assert "The password is case-sensitive; the username is not." in response.text
    assert "may be case-sensitive" not in response.text
    response = Client().post(path, {"username": "ERIN", "password": "Pass-of-erin-42"})
    assert response.status_code == 302, "the username's case indeed does not matter"


def test_two_older_accounts_differing_in_case_are_each_reached_by_their_exact_name(client):
    users = get_user_model().objects
    lower = users.create_user("dana", "dana@example.com", "pass-of-lower-dana-1")
    upper = users.create_user("Dana", "dana2@example.com", "pass-of-upper-dana-2")
    for user, password in ((lower, "pass-of-lower-dana-1"), (upper, "pass-of-upper-dana-2")):
        signing_in = Client()
        signing_in.post("/accounts/login/", {"username": user.username, "password": password})
        assert signing_in.session["_auth_user_id"] == str(user.pk)


def test_signed_in_requests_read_the_session_and_the_user_in_one_statement(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    assert client.session[BACKEND_SESSION_KEY] == "apps.accounts.backends.UserBackend"
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/password_change/").status_code == 200
    quote = connection.ops.quote_name
    table, sessions = quote(get_user_model()._meta.db_table), quote(Session._meta.db_table)
    sql = queries.captured_queries[0]["sql"]  # with the header's counts and the version
    assert sql.startswith(f"SELECT {sessions}.session_data, (SELECT value FROM ")
    assert f", {columns(get_user_model(), table)}, (SELECT COUNT(*) " in sql
    assert f" FROM {sessions} LEFT JOIN {table} ON {table}.{quote('id')} = " in sql
    assert not any(table in query["sql"] for query in queries.captured_queries[1:])


def test_a_session_row_names_the_user_it_signs_in(client, alice, bob):
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    key = client.session.session_key
    assert Session.objects.get(session_key=key).user_id == alice.pk
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert not Session.objects.filter(user_id=alice.pk).exists()


def test_the_session_data_not_its_user_column_says_who_is_signed_in(client, alice, bob):
    """The column only saves a round trip: a row whose column names someone else (written by
    hand, or by an older release) signs in the user its data names, read by their own
    statement."""
    client.force_login(alice)
    Session.objects.filter(session_key=client.session.session_key).update(user_id=bob.pk)
    assert _reader(client) == alice
    Session.objects.filter(session_key=client.session.session_key).update(user_id=None)
    assert _reader(client) == alice


def test_deleting_an_account_signs_it_out_everywhere(alice):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    assert Session.objects.filter(user_id=alice.pk).count() == 2
    alice.delete()
    assert not Session.objects.filter(user_id=alice.pk).exists()
    assert not _reader(phone).is_authenticated


def test_a_password_changed_elsewhere_still_signs_the_other_sessions_out(alice):
    """Django's session hash is still checked against the user read with the session."""
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    laptop.post(
        "/accounts/password_change/",
        {
            "old_password": "correct-horse-9",
            "new_password1": "a-new-Horse-battery-77",
            "new_password2": "a-new-Horse-battery-77",
        },
    )
    assert _reader(laptop) == alice
    assert not _reader(phone).is_authenticated


def test_an_expired_session_signs_nobody_in(client, alice):
    client.force_login(alice)
    past = timezone.now() - timedelta(seconds=1)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=past)
    assert not _reader(client).is_authenticated


def test_a_session_naming_a_user_who_is_no_more_is_saved_and_signs_nobody_in(client, alice):
    """No constraint in the database: saving such a session neither fails nor loops."""
    store = SessionStore()
    store.update({SESSION_KEY: "987654", BACKEND_SESSION_KEY: "apps.accounts.backends.UserBackend"})
    store.create()
    assert Session.objects.get(session_key=store.session_key).user_id == 987654
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    assert not _reader(client).is_authenticated


def test_a_session_checked_once_is_not_checked_again_and_never_shared(monkeypatch):
    """The signature of a session's data is checked once per process (its payload is kept);
    each decode still makes new objects, so one request's changes reach no other."""
    sessions._payload.cache_clear()  # the same data signed in the same second is the same text
    store = SessionStore()
    data = store.encode({SESSION_KEY: "7", "link": {"doc": 1}})
    checks = []
    real = sessions.signing.loads
    monkeypatch.setattr(
        sessions.signing, "loads", lambda *a, **k: checks.append(1) or real(*a, **k)
    )
    first = store.decode(data)
    first["link"]["doc"] = 2
    first["added"] = True
    assert store.decode(data) == {SESSION_KEY: "7", "link": {"doc": 1}}
    assert SessionStore().decode(data) == {SESSION_KEY: "7", "link": {"doc": 1}}
    assert len(checks) == 1


def test_a_session_signed_with_a_retired_key_signs_nobody_in(client, alice):
    """A signature checked and kept under one secret key is checked again under another."""
    client.force_login(alice)
    assert _reader(client) == alice
    with override_settings(SECRET_KEY="a-new-secret-key-" + "x" * 40):
        assert not _reader(client).is_authenticated
    with override_settings(
        SECRET_KEY="a-new-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert _reader(client) == alice


def test_a_forged_session_signs_nobody_in_however_often_it_comes(client, alice, caplog):
    """A signature that fails is never kept: a session whose data was altered (one character
    of its payload, under the real signature) decodes to nothing every time, also after the
    real data was checked and kept."""
    client.force_login(alice)
    row = Session.objects.get(session_key=client.session.session_key)
    assert _reader(client) == alice
    signed = row.session_data
    forged = signed[:9] + ("A" if signed[9] != "A" else "B") + signed[10:]
    Session.objects.filter(pk=row.pk).update(session_data=forged)
    for _ in range(2):
        assert not _reader(client).is_authenticated
    assert caplog.text.count("Session data corrupted") == 2
    Session.objects.filter(pk=row.pk).update(session_data=signed)
    assert _reader(client) == alice


def _reader(client):
    """Who a page request of ``client`` is read as."""
    response = client.get("/docs/")
    assert response.status_code == 200
    return response.wsgi_request.user


def test_the_deploy_that_brings_the_session_table_signs_nobody_out(client, alice, bob):
    old = import_module("django.contrib.sessions.backends.db").SessionStore()
    old.update({SESSION_KEY: str(alice.pk), BACKEND_SESSION_KEY: "x", HASH_SESSION_KEY: "y"})
    old.create()
    expired = import_module("django.contrib.sessions.backends.db").SessionStore()
    expired.set_expiry(-1)
    expired.create()
    anonymous = import_module("django.contrib.sessions.backends.db").SessionStore()
    anonymous["note"] = "kept"
    anonymous.create()
    migration = import_module("apps.accounts.migrations.0002_sessions_kept")
    migration.keep_sessions(global_apps, None)
    kept = dict(Session.objects.values_list("session_key", "user_id"))
    assert kept == {old.session_key: alice.pk, anonymous.session_key: None}
    assert Session.objects.get(session_key=old.session_key).get_decoded()[SESSION_KEY] == str(
        alice.pk
    )


def _request_of(client, method: str = "get", **headers):
    """A request carrying ``client``'s session, its user not read yet (as in a view)."""
    request = getattr(RequestFactory(), method)("/docs/", headers=headers)
    request.session = client.session
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


def test_a_value_read_with_the_user_is_what_its_own_query_reads(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    DesignDoc.objects.create(owner=alice, title="Spam filter")
    state = DesignDoc.objects.list_state()
    request = _request_of(client)
    request.session.load()  # the session from the cache, as on any later request
    with CaptureQueriesContext(connection) as together:
        user, value = user_and(request, state, [])
    assert user == alice and len(together.captured_queries) == 1
    apart = _request_of(client)
    assert apart.user == alice  # read before: the value takes a query of its own
    with CaptureQueriesContext(connection) as alone:
        assert user_and(apart, state, []) == (alice, value)
    assert len(alone.captured_queries) == 1
    assert value and value.startswith("1:")  # one doc
    DesignDoc.objects.create(owner=alice, title="Ranking")
    assert user_and(_request_of(client), state, [])[1].startswith("2:")


def test_a_page_reads_its_headers_counts_with_its_user_as_the_orm_counts_them(client, alice, bob):
    client.force_login(alice)
    now = timezone.now()
    first, second, third, fourth = Card.objects.active()[:4]
    for card in (first, second, third):  # failed a day ago: due again since
        scheduling.grade(alice, card.pk, fsrs.Rating.Again, 0, now - timedelta(days=1))
    scheduling.grade(alice, fourth.pk, fsrs.Rating.Easy, 0, now)  # due in days
    scheduling.grade(bob, first.pk, fsrs.Rating.Again, 0, now - timedelta(days=1))  # not hers
    Card.objects.filter(pk=third.pk).update(retired=True)  # gone from every deck
    live, trashed = (DesignDoc.objects.create(owner=alice, title=t) for t in ("A", "B"))
    for doc, body in ((live, "One"), (live, "Two"), (live, "Read"), (trashed, "Hidden")):
        threads.post(doc, bob, body)
    InboxItem.objects.filter(comment__body="Read").update(read_at=now)
    trashed.move_to_trash()
    threads.post(DesignDoc.objects.create(owner=bob, title="C"), alice, "To bob")
    request = _request_of(client)
    with CaptureQueriesContext(connection) as queries:
        assert request.user == alice
    assert len(queries.captured_queries) == 1
    assert request.user.read_for_page == {"due-badge": 2, "inbox-unread": 2}
    assert (scheduling.due_count(alice), unread_count(alice)) == (2, 2)
    assert _request_of(client).user.read_for_page == {"due-badge": 2, "inbox-unread": 2}
    boosted = _request_of(client, HX_Request="true", HX_Boosted="true")
    assert boosted.user.read_for_page == {"due-badge": 2, "inbox-unread": 2}
    # No header to show: a POST, or HTMX asking for a fragment, reads the user alone.
    for request in (_request_of(client, "post"), _request_of(client, HX_Request="true")):
        assert request.user == alice and request.user.read_for_page == {}


def test_nothing_is_read_along_for_a_session_django_refuses(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    alice.set_password("changed-elsewhere-7")  # every other session of hers ends
    alice.save()
    user, value = user_and(_request_of(client), DesignDoc.objects.list_state(), [])
    assert not user.is_authenticated and value is None
    assert "Create a free account" in client.get("/docs/").text


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_doc_read_with_its_owner_is_the_doc_and_state_the_orm_reads(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-9"})
    doc = DesignDoc.objects.create(owner=alice, title="Spam filter", problem="Stop spam.")
    doc.save_answer(Prompt.objects.first(), "Mail users.", 0)
    read = DesignDoc.objects.owned(doc.pk, with_state=True)
    request = _request_of(client)
    request.session.load()
    with CaptureQueriesContext(connection) as together:
        user, row = read_with_user(request, read.select, read.params, read.join)
    assert user == alice and len(together.captured_queries) == 1
    found = read.instance(row)
    expected = DesignDoc.objects.get(pk=doc.pk)
    assert _fields(found) == _fields(expected)
    assert found.state() == expected.state(), "the state read along is the state read alone"
    apart = _request_of(client)
    assert apart.user == alice  # read before: the doc takes a query of its own, the same doc
    assert _fields(
        read.instance(read_with_user(apart, read.select, read.params, read.join)[1])
    ) == (_fields(expected))


def test_a_doc_not_ones_own_is_no_doc_and_its_reader_stays_signed_in(client, alice, bob):
    client.post("/accounts/login/", {"username": "bob", "password": "battery-staple-7"})
    mine = DesignDoc.objects.create(owner=bob, title="Mine")
    theirs = DesignDoc.objects.create(owner=alice, title="Theirs")
    trashed = DesignDoc.objects.create(owner=bob, title="Trashed", deleted_at=timezone.now())
    example = DesignDoc.objects.create(owner=bob, title="Example", is_example=True, slug="ex")
    for pk in [theirs.pk, trashed.pk, example.pk, 10**6, 2**63, "7x"]:
        read = DesignDoc.objects.owned(pk)
        if read is None:  # an id no row can have: nothing to read
            assert pk in (2**63, "7x")
            continue
        user, row = read_with_user(_request_of(client), read.select, read.params, read.join)
        assert user == bob, "the user's row is there whatever the doc"
        assert read.instance(row) is None, pk
    read = DesignDoc.objects.owned(mine.pk)
    assert (
        read.instance(read_with_user(_request_of(client), read.select, read.params, read.join)[1])
        == mine
    )
    client.post("/accounts/logout/")
    user, row = read_with_user(_request_of(client), read.select, read.params, read.join)
    assert not user.is_authenticated and row is None


def test_a_wrong_password_is_hashed_once_not_once_per_backend(client, alice, monkeypatch):
    checked = []
    original = get_user_model().check_password
    monkeypatch.setattr(
        get_user_model(),
        "check_password",
        lambda self, raw: checked.append(raw) or original(self, raw),
    )
    client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert checked == ["nope"]


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, alice):
    client.force_login(alice)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert "Create a free account" in client.get("/docs/").text


def test_password_change_and_reset(client, alice):
    client.force_login(alice)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "correct-horse-9",
            "new_password1": "another-long-pass-77",
            "new_password2": "another-long-pass-77",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-pass-77")
    client.post("/accounts/logout/")
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("/accounts/password_reset/", "Reset your password"),
        ("/accounts/password_reset/done/", "Check your email"),
        ("/accounts/reset/done/", "Password set"),
        ("/accounts/password_change/", "Change your password"),
    ],
)
def test_account_pages_are_the_sites_own_not_the_admins(client, alice, url, heading):
    # django.contrib.admin ships registration/ templates of the same names.
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.text
    assert "Django site admin" not in response.text


def test_clearsessions_removes_the_expired_sessions_only(client, alice):
    """Each deploy runs it (deploy/cluster.sh, docker-compose.yml's one-shot migrate)."""
    client.force_login(alice)
    stale = SessionStore()
    stale.set_expiry(-1)
    stale.create()
    call_command("clearsessions")
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        client.session.session_key
    ]
