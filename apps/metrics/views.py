from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from apps.core.caching import anonymous_page_cache
from apps.metrics import chooser, quotas, results
from apps.metrics.forms import FORMS, CalculatorForm, ChooserForm
from apps.metrics.models import Family, Metric


@require_safe
@anonymous_page_cache
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


@require_safe
@anonymous_page_cache
def metric_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The reference page; its calculator starts filled in with the worked example."""
    metric = _get_metric(slug)
    form_class = FORMS.get(metric.calculator)
    form = form_class.from_example(metric.example) if form_class else None
    return render(request, "metrics/metric_detail.html", _detail_context(metric, form))


def _posted_form(
    request: HttpRequest, form_class: type[CalculatorForm]
) -> tuple[CalculatorForm, int]:
    """The posted form and the status to answer with. Over the caller's quota, the form says
    so, computes nothing and keeps what the caller typed."""
    form = form_class(request.POST)
    if quotas.CALCULATOR.refuses(request):
        form.add_error(
            None,
            f"Too many calculations from here ({quotas.CALCULATOR.describe()}). "
            "Wait a minute and calculate again; your numbers are still in the form.",
        )
        return form, 429
    return form, 200


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
    form, status = _posted_form(request, form_class)
    context = _detail_context(metric, form)
    if request.htmx and not request.htmx.boosted:
        template = "metrics/metric_detail.html#calculator-results"
    else:
        template = "metrics/metric_detail.html"
    response = render(request, template, context, status=status)
    if status == 429:
        response["Retry-After"] = str(quotas.CALCULATOR.window)
    return response


@require_safe
def metric_chooser(request: HttpRequest) -> HttpResponse:
    """Recommend offline and online metrics from four questions about the task."""
    form = ChooserForm(request.GET or None)
    advice = None
    metrics = {}
    if form.is_valid():
        advice = chooser.recommend(**form.cleaned_data)
        slugs = {r.slug for group in (advice.offline, advice.online, advice.system) for r in group}
        metrics = Metric.objects.for_cards().in_bulk(slugs, field_name="slug")
    context = {"form": form, "advice": advice, "metrics": metrics}
    if request.htmx and not request.htmx.boosted:
        return render(request, "metrics/metric_chooser.html#advice", context)
    return render(request, "metrics/metric_chooser.html", context)
