"""Whole-page caching of what anonymous readers see, invalidated whenever content changes.

Views opt in with :func:`anonymous_page_cache`; :class:`AnonymousPageCacheMiddleware`, placed
just after WhiteNoise, stores their responses and serves the stored copy before sessions,
authentication, CSRF and the view run, so a cached page costs about what a static file does.
Every copy is stored with the content version it was made for, and read together with the
current version in one round trip; saving or deleting any written page bumps it. The pages
cached carry no per-visitor data: no CSRF token, no messages, no account (see base.html).

Signed-in pages keep their costly parts the same way, per state of what they show:
:func:`fragments`.

The same pages say so to a shared cache in front (nginx in ``make cluster``, a CDN): ``public``
for a few seconds, which bounds how long an edit takes to reach anonymous readers there.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe

from apps.core.monitoring import PAGE_CACHE

VERSION_KEY = "content-version"
TIMEOUT = 24 * 60 * 60
# A shared cache keeps a page 3 s, then may answer with that copy for 2 s more while one request
# fetches the next: an edit reaches every anonymous reader within 5 s. Browsers ask each time.
SHARED_CACHE_CONTROL = "public, max-age=0, s-maxage=3, stale-while-revalidate=2"
# Headers set by middleware inside this one, kept with the page (the outer ones are added again).
STORED_HEADERS = ("Content-Type", "Content-Encoding", "Vary", "Content-Security-Policy",
                  "X-Frame-Options")  # fmt: skip


def content_version() -> int:
    # Starts from the clock, not 1: after the cache is flushed a version number never comes
    # back, so nothing stored under an old one (here or in a worker's memory) is reused.
    return cache.get_or_set(VERSION_KEY, time.time_ns, timeout=None)


def per_content_version[T](build: Callable[[], T]) -> Callable[[], T]:
    """``build()`` once per content version, kept in this process's memory (the wizard's
    template, the names search suggests): read again after any content change."""
    lock = threading.Lock()
    kept: list[tuple[int, T]] = []

    @wraps(build)
    def current() -> T:
        version = content_version()
        if kept and kept[0][0] == version:
            return kept[0][1]
        with lock:  # one build per version, even when requests arrive together
            if not kept or kept[0][0] != version:
                kept[:] = [(version, build())]
            return kept[0][1]

    return current


def _code_version() -> str:
    """A digest of every template this deploy renders: fragments stored by an older release
    (in a shared cache that outlives the processes) are never served by a newer one."""
    digest = hashlib.blake2b(digest_size=8)
    root = Path(settings.BASE_DIR)
    for path in sorted(
        [*root.glob("templates/**/*.html"), *root.glob("apps/*/templates/**/*.html")]
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()


CODE_VERSION = _code_version()
FRAGMENT_TIMEOUT = 10 * 60  # a doc's state changes with each save: old fragments just expire


# Fragments are rendered with this in place of the CSRF token and get the visitor's own token
# on the way out. Derived from SECRET_KEY: the same in every process, unguessable, so no text a
# writer types can contain it.
CSRF_SLOT = salted_hmac("apps.core.caching.fragments", "csrf-slot", algorithm="sha256").hexdigest()


def fragments(
    request: HttpRequest, key: str, build: Callable[[dict], tuple[str, ...]]
) -> tuple[SafeString, ...]:
    """Rendered HTML fragments kept in the shared cache under ``key``, built on a miss.

    ``key`` must name everything the fragments show besides content and code (a doc's state,
    say): the content version and this release's templates are added here. ``build`` gets the
    context to render with (the CSRF slot); each ``{% csrf_token %}`` in the fragments is then
    the visitor's own. Whatever else depends on the request (the clock) stays outside.
    """
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    full = f"fragments:{CODE_VERSION}:{digest}"
    version, parts = _current(full)
    if parts is None:
        parts = build({"csrf_token": CSRF_SLOT})
        cache.set(full, (version, parts), FRAGMENT_TIMEOUT)
    token = get_token(request)
    # The fragments are our templates' output (every value escaped as it was rendered).
    return tuple(mark_safe(part.replace(CSRF_SLOT, token)) for part in parts)


def bump_content_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def anonymous_page_cache(view: Callable) -> Callable:
    """Mark a view's successful responses as the same for every anonymous reader."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.anonymous_cacheable = True
        return response

    return wrapper


def _cacheable_request(request: HttpRequest) -> bool:
    return (
        request.method in {"GET", "HEAD"}
        and not request.META.get("QUERY_STRING")
        and "HTTP_HX_REQUEST" not in request.META
        and "sessionid" not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def _key(request: HttpRequest) -> str:
    encoding = "gzip" if "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "") else "identity"
    return f"page:{encoding}:{request.path}"


def _current(key: str) -> tuple[int, object]:
    """The content version and what is stored under ``key`` for that version (else None), in
    one round trip: each value is kept with the version it was made for."""
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY) or content_version()
    stored = found.get(key)
    if stored is not None and stored[0] == version:
        return version, stored[1]
    return version, None


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _cacheable_request(request):
            return self.get_response(request)
        # Host validation first: a stored page must never answer a request Django would refuse
        # (DisallowedHost becomes a 400 in the handler, as for any other view).
        request.get_host()
        key = _key(request)
        version, stored = _current(key)
        if stored is not None:
            PAGE_CACHE.labels("hit").inc()
            headers, content = stored
            response = HttpResponse(content, headers=headers)
            response["X-Page-Cache"] = "hit"
            response["Cache-Control"] = SHARED_CACHE_CONTROL
            return response
        response = self.get_response(request)
        if (
            getattr(response, "anonymous_cacheable", False)
            and response.status_code == 200
            and not response.cookies
            and not response.streaming
        ):
            headers = {name: response[name] for name in STORED_HEADERS if name in response}
            cache.set(key, (version, (headers, response.content)), TIMEOUT)
            PAGE_CACHE.labels("miss").inc()
            response["X-Page-Cache"] = "miss"
            response["Cache-Control"] = SHARED_CACHE_CONTROL
        return response
