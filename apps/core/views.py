from django.db import DatabaseError, connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from apps.core import markdown, monitoring
from apps.core.caching import content_page
from apps.core.models import PAGE_MODELS, MovedPage


@require_safe
@content_page
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers a query, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "error", "database": "unreachable", "detail": type(exc).__name__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok"})


@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The admin's live preview: Markdown in, sanitised HTML fragment out. Staff only."""
    if not (request.user.is_active and request.user.is_staff):
        return HttpResponseForbidden("The Markdown preview is for staff only.")
    # The body of a page, or a prompt's help or an example's answer (inline rows are named
    # "prompts-0-help"): whichever Markdown field the editor is typing in.
    field = next((k for k in request.POST if k.endswith(("body", "help", "value"))), "body")
    self_url = request.POST.get("self_url", "")  # the edited page's own URL, as it renders
    rendered = markdown.render(request.POST.get(field, ""), self_url=self_url)
    return render(request, "core/markdown_preview.html", {"rendered": rendered})


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    # A shared doc's link is private to whoever holds it (the page also says noindex).
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /docs/", "Disallow: /shared/",
             "Disallow: /inbox/", "Disallow: /api/", ""]  # fmt: skip
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@require_safe
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's scrape of this replica; a 404 to anything but the machine itself."""
    if not monitoring.from_this_machine(request):
        raise Http404
    body, content_type = monitoring.exposition()
    return HttpResponse(body, content_type=content_type)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404, unless the address is a page's from before its slug changed: then a
    redirect to where it is now, query string kept (a calculator's shared inputs)."""
    if request.method in {"GET", "HEAD"} and (moved := _moved(request)):
        query = request.META.get("QUERY_STRING", "")
        return redirect(f"{moved}?{query}" if query else moved)
    return defaults.page_not_found(request, exception)


def _moved(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    model = next((m for m in PAGE_MODELS if m.url_name == match.view_name), None)
    slug = match.kwargs.get("slug")
    return MovedPage.url_for(model, slug) if model and isinstance(slug, str) else None
