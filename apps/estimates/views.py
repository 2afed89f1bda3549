from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core.caching import content_page
from apps.estimates import results
from apps.estimates.forms import FORMS


def shareable_url(request: HttpRequest, name: str) -> str:
    """The page the reader is on (a concept page, usually), with this estimator's new inputs
    in its query and every other estimator's inputs as that page's address holds them.

    The others come from the address, not from the form's copies of them: those are as the
    page was served, and another estimator on the page may have changed its inputs since.
    """
    current = request.htmx.current_url_abs_path  # None unless the same origin
    parts = urlsplit(current or "")
    path, kept = parts.path, QueryDict(parts.query)
    if not path.startswith("/") or path.startswith("//"):
        path, kept = request.path, QueryDict()
    own = FORMS[name].base_fields
    query = QueryDict(mutable=True)
    query["est"] = name
    for field in own:
        if field in request.GET:
            query.setlist(field, request.GET.getlist(field))
    for key, values in kept.lists():
        if key != "est" and key not in own:
            query.setlist(key, values)
    return f"{path}?{query.urlencode()}#estimator-{name}"


@require_safe
@content_page
def estimate(request: HttpRequest, name: str) -> HttpResponse:
    """An estimator on a page of its own; for HTMX, only its result, and the concept page's
    URL with the new inputs to put in the address bar."""
    if name not in FORMS:
        raise Http404("No estimator by that name.")
    context = results.context(name, request.GET, page_url=request.path)
    if request.htmx and not request.htmx.boosted:
        # The fields' messages travel out of band: only the result is swapped in.
        context["oob_errors"] = True
        response = render(request, "estimates/estimator.html#result", context)
        response["HX-Push-Url"] = shareable_url(request, name)
        return response
    return render(request, "estimates/estimate_page.html", context)
