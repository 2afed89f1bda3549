import re
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from apps.search.query import search
from apps.search.query import suggest as suggest_names

SUGGESTIONS = 8
SHOWN = 30  # results on a page, best first
PAGES = 5  # at most: each page ranks the ones before it again


@require_safe
def results(request: HttpRequest) -> HttpResponse:
    """Full results grouped by kind; an exact title or alias goes straight to its page."""
    query = request.GET.get("q", "")
    suggest = request.htmx and request.htmx.target == "search-suggestions"
    if suggest:
        found = suggest_names(query, request.user, limit=SUGGESTIONS)
        return render(request, "search/results.html#suggestions", {"results": found})
    asked = request.GET.get("page", "")  # anything but a page number is the first page
    page = min(max(int(asked), 1), PAGES) if re.fullmatch(r"[0-9]{1,4}", asked) else 1
    found = search(query, request.user, limit=SHOWN, skip=(page - 1) * SHOWN)
    if found.exact_url and not request.GET.get("all") and page == 1:
        # The page shows a way back to these results (see base.html).
        url, _, anchor = found.exact_url.partition("#")
        return redirect(f"{url}?{urlencode({'q': found.query})}" + (f"#{anchor}" if anchor else ""))
    more = found.more and page < PAGES
    return render(request, "search/results.html", {"results": found, "page": page, "more": more})
