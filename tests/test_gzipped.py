"""A stored page gzipped once and served with each request's own parts (apps.core.gzipped,
apps.core.caching.stored_page)."""

from __future__ import annotations

import gzip
import re
import zlib

import pytest
from django.middleware.csrf import CSRF_TOKEN_LENGTH

from apps.core import gzipped

pytestmark = pytest.mark.django_db

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
ANY_TOKEN = re.compile(rb'(?<=value=")[A-Za-z0-9]{64}|(?<="X-CSRFToken": ")[A-Za-z0-9]{64}')


def _member(*runs: tuple[bytes, bool]) -> bytes:
    return gzipped.member(
        (text, gzipped.deflated(text) if fixed else gzipped.stored(text)) for text, fixed in runs
    )


@pytest.mark.parametrize(
    "runs",
    [
        [(b"<p>page</p>" * 400, True), (b"token-123", False), (b"<p>rest</p>" * 300, True)],
        [(b"", True), (b"", False), (b"", True)],  # empty runs on both sides
        [("naïve — 日本語 ".encode() * 50, True), ("ç".encode() * 40_000, False), (b"x", True)],
    ],
    ids=["page", "empty", "utf8-and-a-fill-over-one-stored-block"],
)
def test_a_member_decodes_to_its_runs_in_order(runs):
    body = _member(*runs)
    whole = b"".join(text for text, _ in runs)
    assert gzip.decompress(body) == whole
    assert zlib.decompress(body, wbits=31) == whole  # one member, nothing after it


def test_the_fixed_text_is_compressed_and_the_file_name_varies_in_length():
    text = b"<li>A line of the page that repeats.</li>" * 500
    lengths = {len(_member((text, True), (b"csrf", False))) for _ in range(20)}
    assert max(lengths) < len(text) // 10 and len(lengths) > 1


def _signed_in_page(client, **headers):
    return client.get("/concepts/tcp/", headers=headers)


def test_a_stored_page_is_served_gzipped_without_compressing_it_again(client, alice, monkeypatch):
    """Its text was compressed when it was stored: the request compresses nothing."""
    client.force_login(alice)
    _signed_in_page(client)  # stores it

    def refuse(*args, **kwargs):
        raise AssertionError("compressed again")

    monkeypatch.setattr("django.middleware.gzip.compress_string", refuse)
    response = _signed_in_page(client, accept_encoding="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip"
    assert {"Accept-Encoding", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
    page = gzip.decompress(response.content)
    plain = _signed_in_page(client).content
    assert "Content-Encoding" not in _signed_in_page(client)
    # The same page but for the request's own CSRF token, which is there and well formed.
    tokens = TOKEN.findall(page)
    assert tokens and all(len(token) == CSRF_TOKEN_LENGTH for token in tokens)
    assert ANY_TOKEN.sub(b"", page) == ANY_TOKEN.sub(b"", plain)
    assert b'class="account-name" title="alice"' in page


def test_the_gzipped_page_s_csrf_token_is_accepted(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    _signed_in_page(client)
    page = gzip.decompress(_signed_in_page(client, accept_encoding="gzip").content)
    token = TOKEN.search(page).group(1).decode()
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not _signed_in_page(client).wsgi_request.user.is_authenticated


def test_runs_too_short_to_compress_alone_are_left_to_be_compressed_whole():
    row = b'<li><a href="/docs/1/">A doc</a><form method="post"><input name="t" value="'
    assert gzipped.runs([row] * 40) is None
    long = [b"<p>A long paragraph of the page, said once.</p>" * 200, b"<footer>end</footer>"]
    assert gzipped.runs(long) is not None


def test_a_stored_page_of_many_holes_is_gzipped_whole_per_request(client, alice):
    from apps.designdocs.models import DesignDoc

    for number in range(30):
        DesignDoc.objects.create(owner=alice, title=f"Doc {number}", problem="A problem.")
    client.force_login(alice)
    client.get("/docs/")
    response = client.get("/docs/", headers={"accept-encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    page = gzip.decompress(response.content)
    assert b"Doc 29" in page and len(response.content) < len(page) / 3
