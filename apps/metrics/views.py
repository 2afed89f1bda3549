from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from apps.core.caching import content_page
from apps.metrics import chooser, quotas, results
from apps.metrics.forms import FORMS, LINK_MAX_LENGTH, CalculatorForm, ChooserForm
from apps.metrics.models import Family, Metric


@require_safe
@content_page
def metric_list(request: HttpRequest) -> HttpResponse:
    families = Family.objects.prefetch_related(
        Prefetch("metrics", queryset=Metric.objects.for_cards().order_by("order", "name"))
    )
    return render(request, "metrics/metric_list.html", {"families": families})


def _detail_context(metric: Metric, form: CalculatorForm | None) -> dict:
    result = form.calculate() if form is not None and form.is_bound else None
    return {
        "metric": metric,
        **metric.backlink_groups(),
        "related": metric.related.for_cards().order_by("name"),
        "concepts": metric.concepts.only("slug", "title", "summary").order_by("title"),
        "form": form,
        "result": result,
        **results.present(metric.calculator, result),
    }


def _get_metric(slug: str) -> Metric:
    return get_object_or_404(Metric.objects.select_related("family"), slug=slug)


def _fragment(request: HttpRequest) -> bool:
    """Whether to answer with a fragment: HTMX asked, and not to restore a page from history."""
    return (
        bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request
    )


@require_safe
@content_page
def metric_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The reference page. Its calculator starts filled in with the worked example, or, when
    the query string holds a calculator's inputs (a shared link), with those, computed."""
    metric = _get_metric(slug)
    form_class = FORMS.get(metric.calculator)
    if form_class is not None and form_class.given_in(request.GET):
        # Not cached: the page cache passes over every request with a query string.
        return _calculated(request, metric, form_class, request.GET)
    form = form_class.from_example(metric.example) if form_class else None
    return render(request, "metrics/metric_detail.html", _detail_context(metric, form))


# The calculator computes and changes nothing, like the JSON API: no CSRF token is needed,
# which keeps the metric pages free of per-visitor tokens and so cacheable. Its inputs are
# bounded by the form's size limits and its callers by quotas.CALCULATOR.
@csrf_exempt
@require_POST
def metric_calculate(request: HttpRequest, slug: str) -> HttpResponse:
    """Compute on the user's numbers: a results fragment for HTMX, the whole page otherwise."""
    metric = _get_metric(slug)
    form_class = FORMS.get(metric.calculator)
    if form_class is None:
        raise Http404("This metric has no calculator.")
    return _calculated(request, metric, form_class, request.POST)


def _calculated(
    request: HttpRequest, metric: Metric, form_class: type[CalculatorForm], data
) -> HttpResponse:
    """The calculator on what the user typed (posted, or in a shared link's query string).

    Over the caller's quota, the form says so, computes nothing and keeps what was typed. The
    page links to the same inputs as a GET URL, and an HTMX answer puts that URL in the
    address bar (replacing, not pushing: a history entry per pause in typing would bury the
    reader's Back button), so that copying the address shares the result.
    """
    form = form_class(data)
    status = 200
    if quotas.CALCULATOR.refuses(request):
        form.add_error(
            None,
            f"Too many calculations from here ({quotas.CALCULATOR.describe()}). "
            "Wait a minute and calculate again; your numbers are still in the form.",
        )
        status = 429
    page = reverse("metrics:detail", args=[metric.slug])
    query = form.link_query()
    link = f"{page}?{query}" if query and len(query) <= LINK_MAX_LENGTH else None
    context = {
        **_detail_context(metric, form),
        "link": link,
        "link_length": len(query),
        "link_max": LINK_MAX_LENGTH,
        "from_link": request.method == "GET",
    }
    if _fragment(request):
        template = "metrics/metric_detail.html#calculator-results"
    else:
        template = "metrics/metric_detail.html"
    response = render(request, template, context, status=status)
    if status == 429:
        response["Retry-After"] = str(quotas.CALCULATOR.window)
    elif _fragment(request):
        response["HX-Replace-Url"] = link or page
    return response


@require_safe
def metric_chooser(request: HttpRequest) -> HttpResponse:
    """Recommend offline and online metrics from a few questions about the task.

    The answers live in the query string: HTMX pushes each new set of answers to the history
    (as the address of the answers that count), so Back and Forward step through them.
    """
    form = ChooserForm(request.GET or None)
    advice = None
    metrics = {}
    if form.is_valid():
        advice = chooser.recommend(**form.cleaned_data)
        slugs = {r.slug for group in (advice.offline, advice.online, advice.system) for r in group}
        metrics = Metric.objects.for_cards().in_bulk(slugs, field_name="slug")
    context = {"form": form, "advice": advice, "metrics": metrics}
    if not _fragment(request):
        return render(request, "metrics/metric_chooser.html", context)
    response = render(request, "metrics/metric_chooser.html#answer", context)
    if advice is not None:
        response["HX-Push-Url"] = f"{reverse('metrics:choose')}?{form.query()}"
    return response
