"""Whole-page caching of what anonymous readers see, invalidated whenever content changes.

Views opt in with :func:`anonymous_page_cache`; :class:`AnonymousPageCacheMiddleware`, placed
just after WhiteNoise, stores their responses and serves the stored copy before sessions,
authentication, CSRF and the view run, so a cached page costs about what a static file does.
Every copy is stored with the content version it was made for, and read together with the
current version in one round trip; saving or deleting any written page bumps it. The pages
cached carry no per-visitor data: no CSRF token, no messages, no account (see base.html).

Signed-in pages are kept whole the same way, per state of what they show and per reader,
with holes for what each request renders anew (its CSRF token, the header's counts):
:func:`stored_page`. Each process also keeps the pages it served last: the session, the user,
the header's counts and the content version (kept in the database too) are read in one
statement (apps.accounts.sessions, apps.accounts.backends), and a page served again costs that
statement and nothing more.

The same pages say so to a shared cache in front (nginx in ``make cluster``, a CDN): ``public``
for a few seconds, which bounds how long an edit takes to reach anonymous readers there.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import mark_safe

from apps.core import csrf, gzipped
from apps.core.monitoring import PAGE_CACHE, STORED_PAGES

logger = logging.getLogger(__name__)

VERSION_KEY = "content-version"  # in the cache
VERSION_STAMP = "content-version"  # in the database: apps.core.models.Stamp
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
PAGE_TIMEOUT = 10 * 60  # a doc's state changes with each save: old pages just expire

# A stored page is rendered with a marker wherever a part of it is the request's own (the CSRF
# token, a count in the header, an interview's clock) and gets those parts on the way out. The
# marker comes from SECRET_KEY: the same in every process, unguessable, so no text a writer
# types can contain it; it holds only [0-9a-z:-] characters, which escaping leaves alone.
MARK = salted_hmac("apps.core.caching.stored_page", "mark", algorithm="sha256").hexdigest()[:32]
STORING = "storing_page"  # in a template's context while a page is rendered to be stored


@dataclass(frozen=True)
class _Fill:
    render: Callable[..., str]
    with_user: Callable[[], tuple[str, list]] | None = None


_FILLS: dict[str, _Fill] = {"csrf": _Fill(csrf.get_token)}


def per_request(name: str, *, with_user: Callable[[], tuple[str, list]] | None = None) -> Callable:
    """Register ``fill(request, *args, value=None) -> str`` as the part ``name`` of a page
    that each request renders anew; a template tag returns :func:`hole` for it (see
    apps.practice.templatetags).

    A fill that shows one value about the signed-in user (a count in the header) names it with
    ``with_user() -> (sql, params)``, one SQL value in which ``{user}`` stands for the user's
    id: a page request reads it in the statement that reads its user (apps.accounts.backends)
    and the fill gets it as ``value``; None when the user was read otherwise (a form posted
    back), and the fill counts for itself."""

    def register(fill: Callable[..., str]) -> Callable[..., str]:
        _FILLS[name] = _Fill(fill, with_user)
        return fill

    return register


def user_values() -> dict[str, tuple[str, list]]:
    """``{fill: (sql, params)}``: what a page request reads with its user (:func:`per_request`)."""
    return {name: fill.with_user() for name, fill in _FILLS.items() if fill.with_user}


def hole(context, name: str, *args: int | str) -> str:
    """``name``'s part of the page: rendered now, or a marker for it when the page is being
    stored. ``args`` (ids, slugs) are kept in the marker and passed to the fill."""
    if context.get(STORING):
        return mark_safe(f"{MARK}{':'.join([name, *map(str, args)])}{MARK}")
    return _fill(context["request"], name, args)


def _fill(request: HttpRequest, name: str, args) -> str:
    fill = _FILLS[name]
    if fill.with_user is None:
        return fill.render(request, *args)
    read = getattr(request.user, "read_for_page", {})
    return fill.render(request, *args, value=read.get(name))


def stored_page(
    request: HttpRequest,
    key: str,
    render: Callable[[dict], HttpResponse],
    *,
    per_reader: bool = True,
) -> HttpResponse:
    """A signed-in page kept whole, rendered, in the shared cache under ``key``.

    ``key`` must name everything the page shows besides the content, the code, the reader's
    name and the path, which are added here: a doc's state, say. ``render(extra)`` makes the
    page on a miss, with ``extra`` in its context; its per-request parts are holes
    (:func:`hole`, ``{% csrf_token %}``), filled on every request, stored or not. A page shown
    with a one-off message, or asked with a query string (``?q=…`` shows on every page), is
    rendered for that request alone: nobody can make stored copies without end.

    ``per_reader=False`` keeps one copy for every signed-in reader: ``render`` must then show
    nothing of the reader (:func:`content_page` renders for nobody in particular).
    """
    if request.META.get("QUERY_STRING") or len(messages.get_messages(request)):
        return render({})
    user = request.user
    reader = f"{user.pk}:{user.get_username()}" if per_reader else "every-reader"
    identity = f"{key}:{reader}:{request.path}"
    digest = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
    full = f"stored-page:{PAGE_FORMAT}:{CODE_VERSION}:{digest}"
    version, stored = _stored(request, full)
    if stored is None:
        response = render({"csrf_token": f"{MARK}csrf{MARK}", STORING: True})
        if response.streaming:
            raise ImproperlyConfigured(f"{request.path}: a streamed page cannot be stored")
        parts = response.content.split(MARK.encode())
        if response.status_code != 200 or response.cookies:  # never stored, still filled
            response.content = b"".join(_runs(parts, _fills(request, parts)))
            return response
        stored = _Stored(time.time(), response["Content-Type"], parts, gzipped.runs(parts[::2]))
        cache.set(full, (version, stored), PAGE_TIMEOUT)
        _keep(request, full, version, stored)
    return _served(request, stored)


def _served(request: HttpRequest, stored: _Stored) -> HttpResponse:
    """``stored`` with this request's own parts, gzipped when the request accepts it: the
    page's text as compressed when it was stored (apps.core.gzipped), not compressed anew."""
    fills = _fills(request, stored.parts)
    accepts = re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    if accepts and stored.deflated is not None:
        blocks = {hole: gzipped.stored(fill) for hole, fill in fills.items()}
        runs = [
            (part, stored.deflated[i // 2]) if i % 2 == 0 else (fills[part], blocks[part])
            for i, part in enumerate(stored.parts)
        ]
        response = HttpResponse(gzipped.member(runs), content_type=stored.content_type)
        response["Content-Encoding"] = "gzip"  # GZipMiddleware leaves it so
    else:
        content = b"".join(_runs(stored.parts, fills))
        response = HttpResponse(content, content_type=stored.content_type)
    response.headers["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


# What is stored under a page's key, and the holes' names in it: a new format never reads an old
# one (4: the inbox link is stored with the page, its unread count a hole of its own).
PAGE_FORMAT = 4


@dataclass(frozen=True)
class _Stored:
    made: float  # time.time(): a copy is served PAGE_TIMEOUT after it was made, no longer
    content_type: str
    parts: list[bytes]  # text (UTF-8), then a hole's name and arguments, then text, …
    # Each text part compressed (apps.core.gzipped.runs); None where that costs too many
    # bytes: GZipMiddleware then compresses each response whole.
    deflated: list[bytes] | None


def _stored(request: HttpRequest, key: str) -> tuple[int, _Stored | None]:
    """The content version and the page stored under ``key`` for it, or None. When the
    session's read brought the content version along (apps.accounts.sessions), a copy this
    process keeps for it is served without asking the cache; otherwise the cache's version
    and the page are read in one round trip, and the page is kept here for the next request."""
    read = _version_read(request)
    if read is not None and (stored := _RECENT.get(key, read)) is not None:
        STORED_PAGES.labels("memory").inc()
        return read, stored
    version, stored = _current(key)
    if stored is not None and time.time() - stored.made >= PAGE_TIMEOUT:
        stored = None  # the cache's entry outlived its timeout by a moment
    if stored is not None:
        _keep(request, key, version, stored)
    STORED_PAGES.labels("rendered" if stored is None else "shared").inc()
    return version, stored


def _keep(request: HttpRequest, key: str, version: int, stored: _Stored) -> None:
    """Keep ``stored`` in this process's memory under the version this request's session read
    (:func:`_version_read`), else under the cache's ``version`` it was made or read for."""
    read = _version_read(request)
    _RECENT.keep(key, version if read is None else read, stored)


def _version_read(request: HttpRequest) -> str | None:
    """The content version the database held when this request's session was read.

    A page is kept in memory under it whether it was rendered or read from the cache later in
    the request: either way it shows content at least as new as that version. The database's
    version changes in the transaction that changes the content and once more after the
    cache's second bump (:func:`bump_content_version`), so a page the cache held for the
    moment before that bump is never kept under a version read after it."""
    return getattr(getattr(request, "session", None), "content_version", None)


class _Recent:
    """The pages this process served last, by key, each with the content version it was made
    for: a stored page served again costs no round trip to the cache. Bounded in number (a
    page is 10 to 60 KB, so a few megabytes) and in age, as the cache's copies are."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages: OrderedDict[str, tuple[int, _Stored]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str, version: int) -> _Stored | None:
        with self.lock:
            kept = self.pages.get(key)
            if kept is None:
                return None
            if kept[0] != version or time.time() - kept[1].made >= PAGE_TIMEOUT:
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return kept[1]

    def keep(self, key: str, version: int, stored: _Stored) -> None:
        with self.lock:
            self.pages[key] = (version, stored)
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


_RECENT = _Recent(size=256)


def _fills(request: HttpRequest, parts: list[bytes]) -> dict[bytes, bytes]:
    """Each distinct hole of ``parts`` (every other part: a name and its arguments) filled,
    once: a page of twenty forms carries one CSRF token, as when rendered."""
    fills: dict[bytes, bytes] = {}
    for hole in parts[1::2]:
        if hole not in fills:
            name, *args = hole.decode().split(":")
            fills[hole] = _fill(request, name, args).encode()
    return fills


def _runs(parts: list[bytes], fills: dict[bytes, bytes]) -> list[bytes]:
    """``parts`` with each hole replaced by its fill."""
    return [part if i % 2 == 0 else fills[part] for i, part in enumerate(parts)]


def bump_content_version() -> None:
    """Everything rendered from the content is stale: bump now, for the rest of this
    transaction, and once more when it commits. Between the two, another process still reads
    the old rows; what it renders then would otherwise be kept under the new version."""
    _bump()
    if connection.in_atomic_block and not any(
        func is _bump for _, func, _ in connection.run_on_commit
    ):
        transaction.on_commit(_bump)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    _stamp()  # after the cache: see _version_read


def _stamp() -> None:
    """A new content version in the database (apps.core.models.Stamp), which signed-in
    requests read with their session: random, so that no version ever comes back."""
    from apps.core.models import Stamp

    value = secrets.token_hex(8)
    try:
        with transaction.atomic():
            if not Stamp.objects.filter(name=VERSION_STAMP).update(value=value):
                Stamp.objects.create(name=VERSION_STAMP, value=value)
    except DatabaseError:  # two made it at once (either is new), or the database is away
        logger.warning("The content version was not stamped in the database", exc_info=True)


def anonymous_page_cache(view: Callable) -> Callable:
    """Mark a view's successful responses as the same for every anonymous reader."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.anonymous_cacheable = True
        return response

    return wrapper


def content_page(view: Callable) -> Callable:
    """For a view whose page shows the content alone, the same for every reader but for the
    header: anonymous readers get it from the page cache (:func:`anonymous_page_cache`), and
    signed-in readers from one copy stored for all of them (:func:`stored_page`), rendered in
    about a tenth of the time the page takes to render. HTMX's fragments are left alone.

    The stored copy is rendered for nobody in particular: ``request.user`` is a stand-in whose
    name is a hole, every request's own parts (the CSRF token, the header's counts) are holes
    too, and nothing else about the reader is there to show, whatever a template asks."""
    cacheable = anonymous_page_cache(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "HTTP_HX_REQUEST" in request.META or not request.user.is_authenticated:
            return cacheable(request, *args, **kwargs)

        def render(extra: dict) -> HttpResponse:
            if not extra.get(STORING):
                return view(request, *args, **kwargs)
            with _for_nobody(request, extra):
                return view(request, *args, **kwargs)

        return stored_page(request, "content", render, per_reader=False)

    return wrapper


def storing(request: HttpRequest) -> dict:
    """Context processor: while :func:`content_page` renders a copy to store, the markers for
    the request's own parts (they replace the CSRF processor's token)."""
    return getattr(request, "_storing", {})


@contextmanager
def _for_nobody(request: HttpRequest, extra: dict) -> Iterator[None]:
    user = request.user
    request.user = get_user_model()(username=f"{MARK}account-name{MARK}")
    request._storing = extra
    try:
        yield
    finally:
        request.user = user
        del request._storing


# The reader's name, where a page stored for every reader shows it (always escaped, as the
# template would have: the marker itself is made of characters escaping leaves alone).
_FILLS["account-name"] = _Fill(lambda request: escape(request.user.get_username()))


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
