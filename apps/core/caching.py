"""Whole-page caching of what anonymous readers see, invalidated whenever content changes.

Every cached page is keyed by a content version; saving or deleting any written page bumps
the version, so the next request renders afresh. The pages cached carry no per-visitor data:
no CSRF token, no messages, no account links (see base.html).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

VERSION_KEY = "content-version"
TIMEOUT = 24 * 60 * 60


def content_version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, timeout=None)


def bump_content_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates
        cache.set(VERSION_KEY, 2, timeout=None)


def _cacheable(request: HttpRequest) -> bool:
    return (
        request.method in {"GET", "HEAD"}
        and not request.GET
        and not getattr(request, "htmx", False)
        and "sessionid" not in request.COOKIES
        and "messages" not in request.COOKIES
        and not request.user.is_authenticated
    )


def anonymous_page_cache(view: Callable) -> Callable:
    """Serve a stored copy of the page to anonymous readers until content changes."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        key = f"page:{content_version()}:{request.path}"
        cached = cache.get(key)
        if cached is not None:
            response = HttpResponse(cached, content_type="text/html; charset=utf-8")
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies:
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            cache.set(key, response.content, TIMEOUT)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
