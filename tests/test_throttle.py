"""Throttling of sign-in (front door and admin) and password reset: apps/accounts/throttle.py.

carol is the account being guessed; A is the address guessing it and B is carol's own. Every
refusal is a 429 that says what to do and when (Retry-After).
"""

import os
import subprocess
import sys
import time
from ipaddress import ip_network

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, RequestFactory

from apps.accounts.throttle import client_address

pytestmark = pytest.mark.django_db

CAROL_PASSWORD = "carols-own-pass-31"
A = "203.0.113.1"
B = "198.51.100.7"
PROXY = "10.0.0.2"


@pytest.fixture
def carol(db):
    return get_user_model().objects.create_user("carol", "carol@example.com", CAROL_PASSWORD)


class Clock:
    """A stopped clock, moved on by hand; the throttle and the cache's expiry both read it."""

    def __init__(self, monkeypatch):
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def sign_in(client, username, password, address, path="/accounts/login/", **extra):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def signed_in(client) -> str | None:
    return client.session.get("_auth_user_id")


def assert_refused(response, message: str) -> int:
    assert response.status_code == 429, response.status_code
    assert message in response.text
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60 * 60
    return retry_after


def fail_once_from_each(addresses, username="carol"):
    for address in addresses:
        assert sign_in(Client(), username, "a-wrong-guess", address).status_code == 200


# --- One address cannot keep the owner out --------------------------------------------------


def test_twenty_failures_from_one_address_do_not_keep_carol_out_of_another(client, carol):
    attacker = Client()
    statuses = [sign_in(attacker, "carol", f"guess-{n}", A).status_code for n in range(20)]
    assert statuses == [200] * 5 + [429] * 15
    response = sign_in(client, "carol", CAROL_PASSWORD, B)
    assert response.status_code == 302
    assert signed_in(client) == str(carol.pk)


def test_an_address_refused_for_one_account_may_still_sign_in_to_another(client, carol, alice):
    for _ in range(5):
        sign_in(Client(), "carol", "a-wrong-guess", A)
    refused = sign_in(Client(), "carol", CAROL_PASSWORD, A)
    assert_refused(refused, "Too many attempts for this account from here. Wait 15 minutes")
    assert sign_in(client, "alice", "correct-horse-9", A).status_code == 302


def test_the_account_limit_counts_every_case_of_the_name(client, carol):
    """Sign-in ignores case, so guesses as "Carol" and "CAROL" are guesses at carol."""
    for name in ("carol", "Carol", "CAROL", "cArol", "caroL"):
        assert sign_in(Client(), name, "a-wrong-guess", A).status_code == 200
    refused = sign_in(Client(), "Carol", CAROL_PASSWORD, A)
    assert_refused(refused, "Too many attempts for this account from here.")
    assert sign_in(client, "CAROL", CAROL_PASSWORD, B).status_code == 302
    assert signed_in(client) == str(carol.pk)


def test_retry_after_counts_down_to_the_end_of_the_window(carol, clock):
    for _ in range(5):
        sign_in(Client(), "carol", "a-wrong-guess", A)
    clock.advance(10 * 60)
    refused = sign_in(Client(), "carol", CAROL_PASSWORD, A)
    assert assert_refused(refused, "Wait 5 minutes") == 5 * 60
    clock.advance(5 * 60)
    assert sign_in(Client(), "carol", CAROL_PASSWORD, A).status_code == 302


# --- Many addresses slow the account down, never lock it ------------------------------------


def test_failures_from_many_addresses_space_out_attempts_from_those_addresses(carol, clock):
    guessers = [f"192.0.2.{n}" for n in range(16)]
    fail_once_from_each(guessers)
    client = Client()
    refused = sign_in(client, "carol", CAROL_PASSWORD, guessers[0])
    seconds = assert_refused(refused, "attempts on it are spaced out. Try again in 1 minute")
    assert seconds == 60
    assert signed_in(client) is None


def test_the_wait_doubles_with_each_failure_and_stops_at_a_minute(carol, clock):
    guessers = [f"192.0.2.{n}" for n in range(10)]
    fail_once_from_each(guessers)  # ten failures: the account is being guessed
    waits = []
    for guesser in guessers[:8]:
        wait = assert_refused(sign_in(Client(), "carol", "a-wrong-guess", guesser), "Try again")
        waits.append(wait)
        clock.advance(wait)
        assert sign_in(Client(), "carol", "a-wrong-guess", guesser).status_code == 200
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_carol_gets_in_at_once_from_a_new_address_and_within_a_minute_after_a_typo(carol, clock):
    fail_once_from_each(f"192.0.2.{n}" for n in range(30))
    at_home = Client()
    assert sign_in(at_home, "carol", CAROL_PASSWORD, B).status_code == 302
    assert signed_in(at_home) == str(carol.pk)

    on_the_phone = Client()
    assert sign_in(on_the_phone, "carol", "carols-own-pass-13", "198.51.100.8").status_code == 200
    refused = sign_in(on_the_phone, "carol", CAROL_PASSWORD, "198.51.100.8")
    wait = assert_refused(refused, "Try again in")
    assert wait <= 60
    clock.advance(wait)
    assert sign_in(on_the_phone, "carol", CAROL_PASSWORD, "198.51.100.8").status_code == 302
    assert signed_in(on_the_phone) == str(carol.pk)


# --- The account key is the username the backend receives ------------------------------------


def test_a_fullwidth_username_reaches_carol_and_spends_her_budget(client, carol):
    # The sign-in form applies NFKC, as AbstractBaseUser.normalize_username does on save.
    assert sign_in(Client(), "ｃａｒｏｌ", CAROL_PASSWORD, B).status_code == 302
    for _ in range(5):
        assert sign_in(Client(), " ｃａｒｏｌ ", "a-wrong-guess", A).status_code == 200
    refused = sign_in(client, "carol", CAROL_PASSWORD, A)
    assert_refused(refused, "Too many attempts for this account from here")
    assert signed_in(client) is None


# --- The admin's sign-in is the same door ---------------------------------------------------


def test_admin_sign_in_is_refused_after_five_failures_for_an_account(client, staff):
    for _ in range(5):
        response = sign_in(client, "sam", "a-wrong-guess", A, path="/admin/login/")
        assert response.status_code == 200
    refused = sign_in(client, "sam", "editor-pass-42", A, path="/admin/login/")
    assert_refused(refused, "Too many attempts for this account from here. Wait 15 minutes")
    assert 'id="login-form"' in refused.text  # the admin's own page, username kept
    assert 'value="sam"' in refused.text
    assert signed_in(client) is None


def test_admin_sign_in_is_refused_after_twenty_failures_from_an_address(client, staff):
    for n in range(20):
        sign_in(client, f"nobody{n}", "x", A, path="/admin/login/")
    refused = sign_in(client, "sam", "editor-pass-42", A, path="/admin/login/")
    assert_refused(refused, "Too many attempts from here")
    assert signed_in(client) is None


def test_the_admin_and_the_front_door_share_one_budget(client, carol):
    for path in ["/accounts/login/"] * 3 + ["/admin/login/"] * 2:
        sign_in(Client(), "carol", "a-wrong-guess", A, path=path)
    assert_refused(sign_in(client, "carol", CAROL_PASSWORD, A), "Too many attempts")


def test_staff_still_sign_in_to_the_admin(client, staff):
    response = sign_in(client, "sam", "editor-pass-42", A, path="/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url == "/admin/"
    assert "Site administration" in client.get("/admin/").text


# --- Which address: REMOTE_ADDR, or X-Forwarded-For from a trusted proxy ---------------------


def test_forwarded_for_from_an_untrusted_peer_is_ignored(client):
    assert settings.TRUSTED_PROXIES == []
    for n in range(20):
        sign_in(client, f"nobody{n}", "x", A, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    refused = sign_in(client, "someone", "x", A, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_refused(refused, "Too many attempts from here")


def test_forwarded_for_from_a_trusted_proxy_names_the_client(client, alice, settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    for n in range(20):
        sign_in(Client(), f"nobody{n}", "x", PROXY, HTTP_X_FORWARDED_FOR=f"{A}, 10.0.0.3")
    refused = sign_in(Client(), "someone", "x", PROXY, HTTP_X_FORWARDED_FOR=A)
    assert_refused(refused, "Too many attempts from here")
    response = sign_in(client, "alice", "correct-horse-9", PROXY, HTTP_X_FORWARDED_FOR=B)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        (A, B, A),  # an untrusted peer: its header is whatever it chose to send
        (PROXY, B, B),
        (PROXY, f"192.0.2.66, {B}", B),  # left of the client: what the client sent
        (PROXY, f"{B}, 10.0.0.3", B),  # another trusted proxy on the way
        (PROXY, "", PROXY),  # the proxy itself, say a health check
        (PROXY, "10.0.0.3, 10.0.0.4", PROXY),  # nothing but proxies
        (PROXY, f"{B}, unknown", PROXY),  # a proxy wrote something that is not an address
        ("::ffff:10.0.0.2", B, B),  # an IPv4 peer seen through a dual-stack socket
        ("2001:db8::5", "2001:db8:ffff::9", "2001:db8:ffff::9"),
    ],
)
def test_client_address(settings, remote, forwarded, client):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8"), ip_network("2001:db8::/120")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == client


def read_trusted_proxies(value: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import mlsd_site.settings as s; print(s.TRUSTED_PROXIES)"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "TRUSTED_PROXIES": value},
        capture_output=True,
        text=True,
        check=False,
    )


def test_trusted_proxies_are_read_from_the_environment():
    result = read_trusted_proxies("10.0.0.0/8, 192.168.1.5,2001:db8::/32")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "[IPv4Network('10.0.0.0/8'), IPv4Network('192.168.1.5/32'), IPv6Network('2001:db8::/32')]"
    )


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.1/8", "10.0.0.300"])
def test_a_malformed_trusted_proxy_stops_the_process(value):
    result = read_trusted_proxies(f"10.0.0.0/8,{value}")
    assert result.returncode != 0
    assert f"TRUSTED_PROXIES entry {value!r} is not an IP address or network" in result.stderr


# --- Password reset mails --------------------------------------------------------------------


def request_reset(email: str, address: str):
    return Client().post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)


def test_an_account_gets_three_reset_mails_an_hour_and_the_page_never_tells(alice):
    responses = [request_reset("alice@example.com", f"192.0.2.{n}") for n in range(5)]
    assert [(r.status_code, r.url) for r in responses] == [
        (302, "/accounts/password_reset/done/")
    ] * 5
    assert len(mail.outbox) == 3
    assert {m.to[0] for m in mail.outbox} == {"alice@example.com"}


def test_an_address_asking_for_too_many_resets_gets_a_neutral_429(alice):
    for n in range(5):
        assert request_reset(f"someone{n}@example.com", A).status_code == 302
    refusals = [request_reset(email, A) for email in ["alice@example.com", "nobody@example.com"]]
    for refused in refusals:
        assert_refused(refused, "Too many reset requests from here. Wait 1 hour")
    assert mail.outbox == []
    assert request_reset("alice@example.com", B).status_code == 302
    assert len(mail.outbox) == 1


def test_a_refused_sign_up_says_when_to_come_back(client):
    for n in range(10):
        client.post(
            "/accounts/signup/",
            {"username": f"u{n}", "email": "bad", "password1": "x", "password2": "y"},
        )
    refused = client.post(
        "/accounts/signup/",
        {
            "username": "late",
            "email": "late@example.com",
            "password1": "a-long-unusual-pass-88",
            "password2": "a-long-unusual-pass-88",
        },
    )
    assert assert_refused(refused, "Too many attempts from here. Wait 1 hour") > 59 * 60
    assert not get_user_model().objects.filter(username="late").exists()
