"""The one way views reach a design doc: through its owner, or read-only through a reviewer.

Every URL that writes, renames, trashes, restores, exports or shows the history of a doc goes
through ``doc_view`` (owners only); only the document page itself also takes its named
reviewers (``reader_view``). Anyone else gets 404, whatever the method, and learns nothing.
Its owner asking for a doc they moved to the trash gets a 404 that says so (``in_trash``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render

from apps.accounts.backends import read_with_user
from apps.designdocs.models import DesignDoc


class Role(StrEnum):
    """How a reader came to a doc, which decides what its page offers them."""

    OWNER = "owner"  # writes it, shares it, moderates its comments
    REVIEWER = "reviewer"  # invited by name: reads it at /docs/<id>/ and comments
    LINK = "link"  # holds a read-only link: reads it at /shared/<token>/, nothing more


def get_owned_doc(
    request: HttpRequest, pk: int, *, trashed: bool = False, with_state: bool = False
) -> DesignDoc | None:
    """The signed-in user's doc ``pk`` (in the trash when ``trashed``), else None — also for
    other users' and when nobody is signed in. An active doc is read in the statement that
    reads the user, when the request has not read them yet; ``with_state`` reads its state
    too."""
    if trashed:
        user = request.user
        if not user.is_authenticated:
            return None
        trash = DesignDoc.objects.filter(owner=user, is_example=False).in_trash()
        return trash.filter(pk=pk).first()
    read = DesignDoc.objects.owned(pk, with_state=with_state)
    if read is None:
        return None
    return read.instance(read_with_user(request, read.select, read.params, read.join)[1])


def get_readable_doc(request: HttpRequest, pk: int) -> tuple[DesignDoc, Role] | None:
    """The doc ``pk`` for its owner or a named reviewer, with the reader's role; None for
    anyone else, and for everyone while it is in the trash. One query."""
    user = request.user
    if not user.is_authenticated:
        return None
    doc = DesignDoc.objects.readable_by(user).select_related("owner").filter(pk=pk).first()
    if doc is None:
        return None
    return doc, Role.OWNER if doc.owner_id == user.pk else Role.REVIEWER


def in_trash(request: HttpRequest, pk: int) -> HttpResponse | None:
    """For its owner, a doc in the trash says so at every one of its addresses, still with a
    404 (the doc is not there): a page offers it back; anything else (an autosave from a tab
    left open, a form) gets a JSON error naming the trash, which the page shows beside the
    text it keeps. None for anyone else, who learns nothing of it."""
    doc = get_owned_doc(request, pk, trashed=True)
    if doc is None:
        return None
    if request.method in {"GET", "HEAD"} and not request.htmx:
        return render(request, "designdocs/doc_trashed.html", {"doc": doc}, status=404)
    error = f"“{doc.title}” is in the trash: restore it to go on with it."
    return JsonResponse({"error": error, "trashed": True}, status=404)


def _guarded(fetch: Callable, methods: tuple[str, ...], missing: Callable | None = None):
    """Sign-in required; the doc fetched (else 404) before the method is looked at, so a
    stranger gets 404 whatever the method and a reader 405 for a method the view does not
    take. ``fetch(request, pk)`` runs first, so that it may read the user with the doc.
    ``missing(request, pk)`` may answer instead of the bare 404 when there is no doc (its own
    queries then, never on the way to a doc that is there); None leaves the 404."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @login_required
        def signed_in(request: HttpRequest, pk, fetched, *args, **kwargs) -> HttpResponse:
            if fetched is None:
                if missing is not None:
                    response = missing(request, pk)
                    if response is not None:
                        return response
                raise Http404("No such design doc.")
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            return view(request, *fetched, *args, **kwargs)

        @wraps(view)
        def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
            return signed_in(request, pk, fetch(request, pk), *args, **kwargs)

        return wrapper

    return decorator


def doc_view(
    methods: tuple[str, ...] = ("GET",), *, trashed: bool = False, with_state: bool = False
) -> Callable:
    """Decorate ``view(request, doc, …)`` for the doc's owner only; ``with_state`` for a view
    that asks the doc's state (a stored page), read with the doc. A view of an active doc
    tells its owner when the doc is in the trash (:func:`in_trash`)."""

    def fetch(request: HttpRequest, pk: int) -> tuple[DesignDoc] | None:
        doc = get_owned_doc(request, pk, trashed=trashed, with_state=with_state)
        return None if doc is None else (doc,)

    return _guarded(fetch, methods, None if trashed else in_trash)


def reader_view(methods: tuple[str, ...] = ("GET",)):
    """Decorate ``view(request, doc, role, …)`` for the doc's owner and its named reviewers; a
    doc in the trash as for ``doc_view``."""
    return _guarded(get_readable_doc, methods, in_trash)
