"""Django's authentication middleware, reading the user with the session and, for a page, what
the page's header shows of them (apps.accounts.backends, apps.core.caching.per_request)."""

from __future__ import annotations

from django.contrib.auth import middleware
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.accounts.backends import FOR_PAGE, session_with_user


class AuthenticationMiddleware(middleware.AuthenticationMiddleware):
    """As Django's: ``request.user`` is read when first asked for. The statement that reads
    the session reads the user too; for a page (a GET that is not HTMX asking for a fragment)
    it also counts what the header shows (cards due, unread comments): the counts cost no
    round trip of their own, and are never out of date."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # its checks, and request.auser
        for_page = request.method in {"GET", "HEAD"} and (
            "HTTP_HX_REQUEST" not in request.META or "HTTP_HX_BOOSTED" in request.META
        )
        request.user = SimpleLazyObject(lambda: _read(request, for_page))


def _read(request: HttpRequest, for_page: bool):
    token = FOR_PAGE.set(for_page)
    try:
        with session_with_user():
            return middleware.get_user(request)
    finally:
        FOR_PAGE.reset(token)
