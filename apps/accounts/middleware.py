"""Django's authentication middleware, reading with the user of a page request what the page's
header shows of them (apps.accounts.backends, apps.core.caching.per_request)."""

from __future__ import annotations

from django.contrib.auth import middleware
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.accounts.backends import FOR_PAGE


class AuthenticationMiddleware(middleware.AuthenticationMiddleware):
    """As Django's: ``request.user`` is read when first asked for. For a page (a GET that is
    not HTMX asking for a fragment) the statement that reads the user also counts what the
    header shows (cards due, unread comments): the counts cost no round trip of their own,
    and are never out of date."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        if request.method in {"GET", "HEAD"} and (
            "HTTP_HX_REQUEST" not in request.META or "HTTP_HX_BOOSTED" in request.META
        ):
            request.user = SimpleLazyObject(lambda: _read_for_page(request))


def _read_for_page(request: HttpRequest):
    token = FOR_PAGE.set(True)
    try:
        return middleware.get_user(request)
    finally:
        FOR_PAGE.reset(token)
