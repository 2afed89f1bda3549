"""Metric reference pages, their calculators by plain POST and by HTMX, and the chooser."""

import math
import re
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.content import FIXTURES_DIR, read_file
from apps.metrics import computations, quotas
from apps.metrics.forms import FORM_MAX_CLASSES, FORM_MAX_STEPS, FORM_MAX_VALUES
from apps.metrics.models import Family, Metric

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits live in the cache, which outlives each test's database transaction."""
    cache.clear()


REQUIRED = {
    "classification": "accuracy precision recall specificity f1-score f-beta pr-auc roc-auc "
    "log-loss mcc confusion-matrix",
    "regression": "mse rmse mae r-squared adjusted-r-squared huber-loss",
    "detection": "iou average-precision mean-average-precision miou",
    "ranking": "precision-at-k recall-at-k mrr ndcg map-at-k",
    "rl": "reward discounted-return q-value",
    "system": "latency-percentiles throughput energy power",
    "business": "ctr dau-mau user-retention new-users engagement-time conversion-rate",
}
SECTIONS = ["Definition", "When to use it", "Pitfalls", "Worked example", "Offline and online"]
METRIC_FILES = sorted((FIXTURES_DIR / "metrics").glob("*.md"))


def test_every_required_metric_exists_in_its_family():
    for family, slugs in REQUIRED.items():
        for slug in slugs.split():
            metric = Metric.objects.filter(slug=slug).select_related("family").first()
            assert metric is not None, f"missing metric page {slug}"
            assert metric.family.slug == family, slug


@pytest.mark.parametrize("path", METRIC_FILES, ids=lambda p: p.stem)
def test_metric_page_follows_the_anatomy(path):
    data = read_file(path)
    assert len(data["body"].split()) >= 200
    headings = re.findall(r"^## (.+?)\s*$", data["body"], flags=re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == SECTIONS
    assert data.get("formula"), "a formula in LaTeX"
    assert data.get("related"), "related metrics"


def _lookup(result, path: str):
    value = result
    for part in str(path).split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@pytest.mark.parametrize(
    "path", [p for p in METRIC_FILES if read_file(p).get("example")], ids=lambda p: p.stem
)
def test_worked_example_numbers_agree_with_the_calculator(path):
    example = read_file(path)["example"]
    result = computations.CALCULATORS[example["calculator"]](**example["input"])
    for key, expected in example["expect"].items():
        actual = _lookup(result, key)
        if expected is None:
            assert actual is None, key
        elif isinstance(expected, list):
            assert all(
                math.isclose(a, e, rel_tol=1e-6, abs_tol=1e-9)
                for a, e in zip(actual, expected, strict=True)
            ), key
        else:
            assert math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9), (
                f"{key}: page says {expected}, calculator gives {actual}"
            )


def test_every_metric_page_answers_with_its_name_and_formula(client):
    for metric in Metric.objects.all():
        response = client.get(f"/metrics/{metric.slug}/")
        assert response.status_code == 200, metric.slug
        assert f'<h1 id="page-title">{metric.name}</h1>' in response.text
        if metric.formula:
            assert "<math" in response.text


def test_list_groups_metrics_by_family_in_order(client):
    text = client.get("/metrics/").text
    names = list(Family.objects.values_list("name", flat=True))
    positions = [text.index(f"{name}</h2>") for name in names]
    assert positions == sorted(positions)


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_list_and_detail_query_counts_are_pinned_and_flat(client):
    family = Family.objects.get(slug="business")
    assert _queries(client, "/metrics/") == 2
    assert _queries(client, "/metrics/ctr/") == 4
    for n in range(100):
        Metric.objects.create(
            slug=f"extra-{n}", name=f"Extra {n}", family=family, summary="s", body="b"
        )
    assert _queries(client, "/metrics/") == 2
    assert _queries(client, "/metrics/ctr/") == 4


def test_calculator_starts_with_the_worked_example_computed(client):
    text = client.get("/metrics/precision/").text
    assert 'id="calculator"' in text
    assert 'data-key="precision">0.6000<' in text


def test_calculator_by_plain_post_renders_the_whole_page(client):
    response = client.post(
        "/metrics/precision/calculate/",
        {"y_true": "1, 0, 1, 1", "y_pred": "1, 1, 1, 0", "threshold": "0.5", "beta": "1"},
    )
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'data-key="precision">0.6667<' in response.text


def test_calculator_by_htmx_returns_only_the_results_fragment(client):
    response = client.post(
        "/metrics/precision/calculate/",
        {"y_true": "1 0 1 1", "y_score": "0.9 0.8 0.4 0.7", "threshold": "0.5", "beta": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="calculator-results"')
    assert 'data-key="roc_auc">' in response.text
    assert "<svg" in response.text and 'class="marker"' in response.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"y_true": "1, 0, x", "y_pred": "1, 0, 1"}, "y_true", "is not a number"),
        ({"y_true": "1, 0, 2", "y_pred": "1, 0, 1"}, "y_true", ""),
        ({"y_true": "1, 0, 1", "y_pred": "1, 0"}, "y_pred", ""),
        ({"y_true": "1, 0, 1", "y_score": "0.2, nan, 0.3"}, "y_score", ""),
        ({"y_true": "", "y_pred": "1"}, "y_true", "required"),
    ],
)
def test_bad_calculator_input_is_reported_at_the_field_and_kept(client, data, field, message):
    payload = {"threshold": "0.5", "beta": "1", **data}
    response = client.post("/metrics/precision/calculate/", payload)
    assert response.status_code == 200
    errors = re.search(rf'id="id_{field}-errors" role="alert">(.*?)</div>', response.text)
    assert errors and errors.group(1).strip(), f"no error shown beside {field}"
    assert message.lower() in errors.group(1).lower()
    for value in data.values():
        if value:
            assert value in response.text, "the user's input stays in the form"


def test_htmx_errors_travel_out_of_band_to_their_fields(client):
    response = client.post(
        "/metrics/precision/calculate/",
        {"y_true": "1, 0, x", "y_pred": "1, 0, 1", "threshold": "0.5"},
        headers={"HX-Request": "true"},
    )
    assert 'id="id_y_true-errors" hx-swap-oob="true"' in response.text
    assert "is not a number" in response.text


def test_calculate_refuses_get_and_metrics_without_a_calculator(client):
    assert client.get("/metrics/precision/calculate/").status_code == 405
    no_calc = Metric.objects.filter(calculator="").first()
    if no_calc is not None:
        assert client.post(f"/metrics/{no_calc.slug}/calculate/", {}).status_code == 404


def test_business_calculator_computes_ctr(client):
    response = client.post("/metrics/ctr/calculate/", {"clicks": "30", "impressions": "1200"})
    assert 'data-key="ctr">0.0250<' in response.text
    response = client.post("/metrics/ctr/calculate/", {"clicks": "30", "impressions": "-5"})
    assert "greater than or equal to 0" in response.text


def test_chooser_recommends_for_rare_positives_where_misses_cost_more(client):
    response = client.get(
        "/metrics/choose/",
        {"task": "binary", "imbalance": "severe", "costlier": "fn", "ranked": "on"},
    )
    text = response.text
    for slug in ["pr-auc", "recall", "f-beta", "precision-at-k", "ctr", "latency-percentiles"]:
        assert f'href="/metrics/{slug}/"' in text, slug
    assert 'href="/metrics/accuracy/"' not in text


def test_chooser_for_htmx_returns_only_the_advice(client):
    response = client.get(
        "/metrics/choose/", {"task": "regression"}, headers={"HX-Request": "true"}
    )
    assert response.text.lstrip().startswith('<section id="advice"')
    assert 'href="/metrics/mae/"' in response.text


def test_chooser_rejects_an_unknown_task_at_the_field(client):
    response = client.get("/metrics/choose/", {"task": "astrology"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


# --- Size limits and the calculators' quota ----------------------------------------------------


def _slug(calculator: str) -> str:
    return (
        Metric.objects.filter(calculator=calculator)
        .order_by("pk")
        .values_list("slug", flat=True)[0]
    )


def _field_errors(text: str, field: str) -> str:
    errors = re.search(rf'id="id_{field}-errors"[^>]*role="alert">(.*?)</div>', text, re.S)
    return errors.group(1) if errors else ""


def _numbers(n: int) -> str:
    return ", ".join(str(i % 7) for i in range(n))


@pytest.mark.parametrize(
    ("calculator", "data", "field", "limit"),
    [
        ("regression", {"y_true": _numbers(FORM_MAX_VALUES + 1), "y_pred": "1"}, "y_true",
         FORM_MAX_VALUES),
        ("discounted-return", {"rewards": _numbers(FORM_MAX_STEPS + 1), "gamma": "0.9"},
         "rewards", FORM_MAX_STEPS),
        ("ranking", {"y_true": "\n".join(["1, 0"] * (FORM_MAX_VALUES // 2 + 1)),
         "y_score": "1, 0", "k": "1"}, "y_true", FORM_MAX_VALUES),
        ("multiclass-classification", {"y_true": _numbers(3) + ", " + " ".join(
            f"c{i}" for i in range(FORM_MAX_CLASSES)), "y_pred": "a"}, "y_true",
         FORM_MAX_CLASSES),
    ],
)  # fmt: skip
def test_over_a_size_limit_the_form_says_so_at_the_field_and_keeps_the_text(
    client, calculator, data, field, limit
):
    response = client.post(f"/metrics/{_slug(calculator)}/calculate/", data)
    assert response.status_code == 200
    errors = _field_errors(response.text, field)
    assert f"at most {limit:,}" in errors, errors[:300]
    assert data[field][:200] in response.text, "the user's input stays in the form"


def test_every_pasted_field_states_its_limit(client):
    text = client.get(f"/metrics/{_slug('discounted-return')}/").text
    assert f"At most {FORM_MAX_STEPS:,} values." in text
    text = client.get(f"/metrics/{_slug('regression')}/").text
    assert f"At most {FORM_MAX_VALUES:,} values." in text


def test_the_largest_forms_allowed_are_computed_quickly(client):
    # A denial-of-service bound: the heaviest pages are a curve point or a table row per value.
    started = time.monotonic()
    response = client.post(
        f"/metrics/{_slug('binary-classification')}/calculate/",
        {
            "y_true": _numbers(FORM_MAX_VALUES)
            .replace("2", "1")
            .replace("3", "0")
            .replace("4", "1")
            .replace("5", "0")
            .replace("6", "1"),
            "y_score": ", ".join(str(i / FORM_MAX_VALUES) for i in range(FORM_MAX_VALUES)),
            "threshold": "0.5",
            "beta": "1",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'data-key="roc_auc">' in response.text
    response = client.post(
        f"/metrics/{_slug('discounted-return')}/calculate/",
        {"rewards": _numbers(FORM_MAX_STEPS), "gamma": "0.9"},
    )
    assert response.status_code == 200 and response.text.count("<tr>") > FORM_MAX_STEPS
    assert time.monotonic() - started < 3


def test_over_the_quota_an_address_gets_429_with_the_text_kept(client):
    url = f"/metrics/{_slug('ctr')}/calculate/"
    data = {"clicks": "30", "impressions": "1200"}
    limit = quotas.CALCULATOR.anonymous.limit
    for _ in range(limit):
        assert client.post(url, data, headers={"HX-Request": "true"}).status_code == 200
    refused = client.post(url, data, headers={"HX-Request": "true"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == quotas.CALCULATOR.window
    assert 'class="form-error" role="alert"><p>Too many calculations' in refused.text
    assert 'data-key="ctr"' not in refused.text, "nothing is computed"
    page = client.post(url, data)
    assert page.status_code == 429 and 'value="1200"' in page.text, "the input stays"
    elsewhere = Client(REMOTE_ADDR="192.0.2.77")
    assert 'data-key="ctr">0.0250<' in elsewhere.post(url, data).text


def test_the_quota_leaves_cached_pages_and_the_api_alone(client):
    url = f"/metrics/{_slug('ctr')}/"
    client.get(url)
    for _ in range(quotas.CALCULATOR.anonymous.limit + 1):
        client.post(f"{url}calculate/", {"clicks": "1", "impressions": "2"})
    page = client.get(url)
    assert page.status_code == 200 and page["X-Page-Cache"] == "hit"
    api = client.post(
        "/api/calculators/iou",
        {"box_a": [0, 0, 1, 1], "box_b": [0, 0, 1, 1]},
        content_type="application/json",
    )
    assert api.status_code == 200


def test_a_body_over_the_upload_limit_is_a_400_not_a_500(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        f"/metrics/{_slug('regression')}/calculate/",
        {"y_true": _numbers(600), "y_pred": _numbers(600)},
    )
    assert response.status_code == 400
    assert "Bad Request" in response.text
