"""The one way views reach a design doc: through its owner."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404

from apps.designdocs.models import DesignDoc


def get_owned_doc(user, pk: int, *, trashed: bool = False) -> DesignDoc:
    """The user's doc ``pk`` (in the trash when ``trashed``), or 404 — also for other users'."""
    docs = DesignDoc.objects.filter(owner=user, is_example=False)
    docs = docs.in_trash() if trashed else docs.filter(deleted_at__isnull=True)
    return get_object_or_404(docs, pk=pk)


def doc_view(methods: tuple[str, ...] = ("GET",), *, trashed: bool = False) -> Callable:
    """Decorate ``view(request, doc, …)``: sign-in required, the doc fetched for its owner.

    Ownership is checked before the method, so a stranger gets 404 whatever the method and
    learns nothing; the owner gets 405 for a method the view does not take.
    """
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
            doc = get_owned_doc(request.user, pk, trashed=trashed)
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            return view(request, doc, *args, **kwargs)

        return wrapper

    return decorator
