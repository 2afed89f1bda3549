"""apps.core.csrf: a page's CSRF token with its mask drawn in one read, in Django's format."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.http import HttpResponse
from django.middleware import csrf as django_csrf
from django.test import Client, RequestFactory

from apps.core import csrf

SECRET = "abcXYZ0123456789abcdefghijklmnop"  # 32 of the allowed characters


def _request_with_secret(secret: str = SECRET):
    request = RequestFactory().get("/")
    request.COOKIES["csrftoken"] = secret
    django_csrf.CsrfViewMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def _accepted(token: str, secret: str = SECRET) -> bool:
    """Whether Django's CsrfViewMiddleware lets a POST carrying ``token`` through."""
    request = RequestFactory().post("/", {"csrfmiddlewaretoken": token})
    request.COOKIES["csrftoken"] = secret
    middleware = django_csrf.CsrfViewMiddleware(lambda r: HttpResponse())
    middleware.process_request(request)
    return middleware.process_view(request, lambda r: HttpResponse(), (), {}) is None


def test_a_token_is_djangos_format_and_its_middleware_accepts_it():
    request = _request_with_secret()
    token = csrf.get_token(request)
    assert len(token) == django_csrf.CSRF_TOKEN_LENGTH
    assert set(token) <= set(django_csrf.CSRF_ALLOWED_CHARS)
    assert django_csrf._unmask_cipher_token(token) == SECRET
    assert _accepted(token)
    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert not _accepted(tampered)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True, "the cookie's expiry is renewed"


def test_each_token_has_a_mask_of_its_own():
    request = _request_with_secret()
    tokens = {csrf.get_token(request) for _ in range(50)}
    assert len(tokens) == 50
    assert len({token[:32] for token in tokens}) == 50


def test_a_mask_is_the_offsets_it_was_drawn_as():
    offsets = [0, 61, 1, 60, *range(28)]
    token = csrf.mask(SECRET, offsets)
    assert token[:32] == "".join(csrf.CHARS[offset] for offset in offsets)
    assert django_csrf._unmask_cipher_token(token) == SECRET


def test_bytes_that_would_favour_some_characters_are_left_out():
    """248 to 255 would make the first eight characters likelier: they are skipped, and a
    draw that leaves too few is followed by another."""
    draws = iter([bytes([255, 248, 247, 0, 62, 124, 61] + [250] * 33), bytes(range(40))])
    offsets = csrf.mask_offsets(lambda n: next(draws))
    assert offsets[:5] == [247 % 62, 0, 0, 0, 61]
    assert offsets[5:] == list(range(27)), "the rest from the second draw"
    assert len(offsets) == 32


def test_every_character_is_equally_likely():
    """A chi-squared test of 64,000 drawn offsets against 62 equal chances. Taking every byte
    modulo 62 (no byte left out) makes the first eight characters a quarter likelier: a
    statistic of about 420. The bound, 150 for 61 degrees of freedom, is passed by chance
    about once in 400 million runs."""
    offsets = Counter()
    for _ in range(2000):
        offsets.update(csrf.mask_offsets())
    expected = sum(offsets.values()) / 62
    assert sorted(offsets) == list(range(62))
    statistic = sum((seen - expected) ** 2 / expected for seen in offsets.values())
    assert statistic < 150, offsets


def test_a_request_without_a_secret_gets_one_from_django():
    request = RequestFactory().get("/")
    django_csrf.CsrfViewMiddleware(lambda r: HttpResponse()).process_request(request)
    token = csrf.get_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == 32 and django_csrf._unmask_cipher_token(token) == secret


@pytest.mark.django_db
def test_a_page_rendered_for_one_request_carries_a_token_masked_here(monkeypatch):
    """The sign-in page (never stored) gets its token from the context processor here."""
    drawn = []
    original = csrf.mask_offsets
    monkeypatch.setattr(csrf, "mask_offsets", lambda: drawn.append(1) or original())
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # sets the cookie
    page = browser.get("/accounts/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert drawn, "the token was masked by apps.core.csrf"
    secret = browser.cookies["csrftoken"].value
    assert django_csrf._unmask_cipher_token(token) == secret
    answer = browser.post("/accounts/login/", {"csrfmiddlewaretoken": token, "username": "x"})
    assert answer.status_code == 200, "past the CSRF check, to the form's own error"
