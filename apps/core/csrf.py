"""The CSRF token of a page, as django.middleware.csrf.get_token makes it, drawing its mask
in one read of the OS's randomness instead of one per character.

Every page with a form carries a token: the request's secret (its CSRF cookie), masked afresh
for each response so that the compressed page never repeats it (Django's defence against
BREACH). Django draws the 32 characters of the mask with ``secrets.choice``, one system call
each: about 50 µs of a signed-in page's 1.2 ms, the largest single cost after its two round
trips. Here the mask comes from one ``secrets.token_bytes``; a byte maps onto the 62 characters
only below 248 (four times 62), so every character stays equally likely, as with ``choice``.

The token is Django's own format (mask, then the secret shifted by the mask), which
CsrfViewMiddleware unmasks and checks; tests/test_csrf.py holds it to that.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware import csrf
from django.utils.functional import SimpleLazyObject

CHARS = csrf.CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(CHARS)}
# The bytes that map onto CHARS evenly: 0 to 247, each character four times.
_EVEN_BELOW = 256 - 256 % len(CHARS)


def mask_offsets(draw=secrets.token_bytes) -> list[int]:
    """CSRF_SECRET_LENGTH offsets, each 0 to 61 with equal chance, from ``draw(n)`` bytes
    (a byte of 248 or more is left out; 40 bytes almost always give the 32 needed)."""
    offsets: list[int] = []
    while len(offsets) < csrf.CSRF_SECRET_LENGTH:
        offsets += [byte % len(CHARS) for byte in draw(40) if byte < _EVEN_BELOW]
    return offsets[: csrf.CSRF_SECRET_LENGTH]


def mask(secret: str, offsets: list[int]) -> str:
    """The token for ``secret`` under the mask ``offsets``, as Django's _mask_cipher_secret
    writes it: the mask's characters, then each secret character moved on by its offset."""
    size = len(CHARS)
    return "".join(CHARS[offset] for offset in offsets) + "".join(
        CHARS[(_INDEX[char] + offset) % size] for char, offset in zip(secret, offsets, strict=True)
    )


def get_token(request: HttpRequest) -> str:
    """django.middleware.csrf.get_token, with the mask drawn by :func:`mask_offsets`. A
    request without a secret yet (CsrfViewMiddleware puts a valid one in META) is Django's
    to give one."""
    secret = request.META.get("CSRF_COOKIE")
    if (
        not isinstance(secret, str)
        or len(secret) != csrf.CSRF_SECRET_LENGTH
        or not set(secret) <= _INDEX.keys()
    ):
        return csrf.get_token(request)
    # As Django does: the response sends the cookie again, renewing its expiry.
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return mask(secret, mask_offsets())


def token(request: HttpRequest) -> dict:
    """Context processor: ``csrf_token`` for ``{% csrf_token %}``, made when a template first
    uses it, as Django's own csrf processor does (which it replaces: listed after it, this
    one's value wins)."""
    return {"csrf_token": SimpleLazyObject(lambda: get_token(request))}
