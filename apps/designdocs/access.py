"""The one way views reach a design doc: through its owner, or read-only through a reviewer.

Every URL that writes, renames, trashes, restores, exports or shows the history of a doc goes
through ``doc_view`` (owners only); only the document page itself also takes its named
reviewers (``reader_view``). Anyone else gets 404, whatever the method, and learns nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404

from apps.designdocs.models import DesignDoc


class Role(StrEnum):
    """How a reader came to a doc, which decides what its page offers them."""

    OWNER = "owner"  # writes it, shares it, moderates its comments
    REVIEWER = "reviewer"  # invited by name: reads it at /docs/<id>/ and comments
    LINK = "link"  # holds a read-only link: reads it at /shared/<token>/, nothing more


def get_owned_doc(user, pk: int, *, trashed: bool = False, with_state: bool = False) -> DesignDoc:
    """The user's doc ``pk`` (in the trash when ``trashed``), or 404 — also for other users'.
    ``with_state`` reads the doc's state in the same query."""
    if trashed:
        docs = DesignDoc.objects.filter(owner=user, is_example=False).in_trash()
        return get_object_or_404(docs, pk=pk)
    doc = DesignDoc.objects.owned(user, pk, with_state=with_state)
    if doc is None:
        raise Http404("No such design doc.")
    return doc


def get_readable_doc(user, pk: int) -> tuple[DesignDoc, Role]:
    """The doc ``pk`` for its owner or a named reviewer, with the reader's role; 404 for anyone
    else, and for everyone while it is in the trash. One query."""
    doc = get_object_or_404(DesignDoc.objects.readable_by(user).select_related("owner"), pk=pk)
    return doc, Role.OWNER if doc.owner_id == user.pk else Role.REVIEWER


def _guarded(fetch: Callable, methods: tuple[str, ...]) -> Callable:
    """Sign-in required; the doc fetched (or 404) before the method is looked at, so a stranger
    gets 404 whatever the method and a reader 405 for a method the view does not take."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
            fetched = fetch(request.user, pk)
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            return view(request, *fetched, *args, **kwargs)

        return wrapper

    return decorator


def doc_view(
    methods: tuple[str, ...] = ("GET",), *, trashed: bool = False, with_state: bool = False
) -> Callable:
    """Decorate ``view(request, doc, …)`` for the doc's owner only; ``with_state`` for a view
    that asks the doc's state (a stored page), read with the doc."""
    return _guarded(
        lambda user, pk: (get_owned_doc(user, pk, trashed=trashed, with_state=with_state),),
        methods,
    )


def reader_view(methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Decorate ``view(request, doc, role, …)`` for the doc's owner and its named reviewers."""
    return _guarded(get_readable_doc, methods)
