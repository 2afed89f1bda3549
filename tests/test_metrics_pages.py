"""Metric reference pages, their calculators by plain POST and by HTMX, and the chooser."""

import html
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
from apps.metrics.forms import (
    FORM_MAX_CLASSES,
    FORM_MAX_STEPS,
    FORM_MAX_VALUES,
    FORMS,
    LINK_MAX_LENGTH,
)
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
    errors = re.search(rf'id="id_{field}_error" role="alert">(.*?)</div>', response.text)
    assert errors and errors.group(1).strip(), f"no error shown beside {field}"
    assert message.lower() in errors.group(1).lower()
    for value in data.values():
        if value:
            assert value in response.text, "the user's input stays in the form"


def test_a_count_typed_with_thousands_separators_is_read(client):
    response = client.post("/metrics/ctr/calculate/", {"clicks": "1,200", "impressions": "10,000"})
    assert response.status_code == 200 and '<td data-key="ctr">0.1200</td>' in response.text
    assert 'value="1,200"' in response.text or 'value="1200"' in response.text


def test_scores_a_hair_apart_get_a_slider_that_moves_freely_not_a_500(client):
    scores = {"y_true": "0, 1", "y_score": "-5e-324, 0"}
    assert client.get("/metrics/precision/", scores).status_code == 200
    response = client.post("/metrics/precision/calculate/", scores | {"threshold": "0"})
    assert response.status_code == 200 and 'step="any"' in response.text


@pytest.mark.parametrize(
    ("slug", "data", "field", "message"),
    [
        ("confusion-matrix", {"y_true": "1" * 4301, "y_pred": "1"}, "y_true", "4,300 digits"),
        ("coverage-and-diversity", {"recommendations": "1" * 4301, "catalog_size": "1"},
         "recommendations", "4,300 digits"),
        ("average-precision", {"ground_truths": f"[{'1' * 4301}]", "detections": "[]"},
         "ground_truths", "number too long"),
        ("bleu", {"hypotheses": "a cat" + "\n" * 2_000_000 + "a dog", "references": "a cat"},
         "hypotheses", "at most"),
        ("coverage-and-diversity",
         {"recommendations": "1" + "\n" * 2_000_000 + "2", "catalog_size": "3"},
         "recommendations", "at most"),
    ],
)  # fmt: skip
def test_oversized_calculator_input_is_refused_at_its_field(client, slug, data, field, message):
    response = client.post(f"/metrics/{slug}/calculate/", data)
    assert response.status_code == 200
    errors = re.search(rf'id="id_{field}_error" role="alert">(.*?)</div>', response.text, re.S)
    assert errors and message in errors.group(1), response.text[:2000]


def test_htmx_errors_travel_out_of_band_to_their_fields(client):
    response = client.post(
        "/metrics/precision/calculate/",
        {"y_true": "1, 0, x", "y_pred": "1, 0, 1", "threshold": "0.5"},
        headers={"HX-Request": "true"},
    )
    assert 'id="id_y_true_error" hx-swap-oob="true"' in response.text
    assert "is not a number" in response.text


@pytest.mark.parametrize("calculator", sorted(FORMS))
def test_every_field_error_is_the_description_its_input_names(client, calculator):
    """A screen reader reads an input's aria-describedby: each id it names must be on the page,
    and a field with an error must name the element that holds the message."""
    fields = FORMS[calculator].base_fields
    # Blank where a value is required, and a choice that is not offered (its field is a fieldset).
    bad = {name: "x" if hasattr(field, "choices") else "" for name, field in fields.items()}
    text = client.post(f"/metrics/{_slug(calculator)}/calculate/", bad).text
    ids = set(re.findall(r'\sid="([^"]+)"', text))
    described = [
        name for names in re.findall(r'aria-describedby="([^"]*)"', text) for name in names.split()
    ]
    assert [name for name in described if name not in ids] == []
    errors = [name for name in described if name.endswith("_error")]
    assert errors, "no field with an error names its message"
    for name in errors:
        assert re.search(rf'id="{name}"[^>]*>\s*<p>', text), f"{name} holds no message"


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


# --- Calculators: what they accept, what they say, and links that reproduce them ---------------


def _values(text: str) -> dict[str, str]:
    """The computed values a results fragment shows, by key."""
    return dict(re.findall(r'data-key="([^"]+)">([^<]*)<', text))


def _link(text: str) -> str:
    found = re.search(r'<p class="share-link"><a href="([^"]+)">', text)
    assert found, "the results link to their inputs"
    return html.unescape(found.group(1))


def test_pasted_csv_columns_may_keep_their_header_row(client):
    response = client.post(
        "/metrics/precision/calculate/",
        {"y_true": "label\n1\n0\n1\n1", "y_pred": '"prediction"\r\n1\r\n1\r\n1\r\n0\r\n'},
    )
    assert _values(response.text)["precision"] == "0.6667"
    ranking = client.post(
        "/metrics/ndcg/calculate/",
        {"y_true": "g1, g2, g3, g4\n3, 2, 1, 0", "y_score": "0.7, 0.9, 0.2, 0.5", "k": "3"},
    )
    assert _values(ranking.text)["ndcg_at_k"] == "0.8175"
    labels = client.post(
        "/metrics/confusion-matrix/calculate/",
        {"y_true": "actual\n1\n2\n2", "y_pred": "predicted\n1\n2\n1"},
    )
    assert _values(labels.text)["accuracy"] == "0.6667"


def test_a_header_row_is_not_mistaken_for_data_when_the_data_is_bad(client):
    response = client.post(
        "/metrics/precision/calculate/", {"y_true": "label\n1\nx\n1", "y_pred": "1, 1, 1"}
    )
    assert "&#x27;x&#x27; (item 2) is not a number" in _field_errors(response.text, "y_true")


@pytest.mark.parametrize(
    ("data", "field", "said"),
    [
        ({"y_true": "1, 0, 1", "y_pred": "1, 0"}, "y_pred",
         "“True labels (0 or 1)” has 3 values but “Predicted labels (0 or 1)” has 2"),
        ({"y_true": "1, 0, 1", "y_score": "0.2, 0.7"}, "y_score",
         "“True labels (0 or 1)” has 3 values but “Scores (probabilities or logits)” has 2"),
    ],
)  # fmt: skip
def test_errors_name_the_fields_as_the_form_labels_them(client, data, field, said):
    response = client.post("/metrics/precision/calculate/", {"threshold": "0.5", **data})
    errors = _field_errors(response.text, field)
    assert said in errors
    assert "y_true" not in errors and "y_pred" not in errors and "y_score" not in errors


def test_ranking_errors_and_warnings_name_the_fields_as_labelled(client):
    response = client.post(
        "/metrics/ndcg/calculate/", {"y_true": "1, 0\n0, 0", "y_score": "1, 0, 2\n1, 0", "k": "5"}
    )
    errors = _field_errors(response.text, "y_score")
    assert "query 1 has 2 grades in “Relevance grades” but 3 scores in “Model scores”" in errors
    warned = client.post(
        "/metrics/precision/calculate/", {"y_true": "1, 0", "y_score": "2.5, -1", "threshold": "0"}
    )
    assert "“Scores (probabilities or logits)” has values from -1 to 2.5" in warned.text
    assert "y_score" not in warned.text.split('id="calculator-results"')[1].split("share-link")[0]


def _slider(text: str) -> dict[str, str]:
    tag = re.search(r'<input type="range"[^>]*>', text).group()
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


def test_the_threshold_slider_spans_the_scores_and_takes_any_threshold_among_them(client):
    page = client.get("/metrics/roc-auc/").text
    assert {k: _slider(page)[k] for k in ("min", "max", "step")} == {
        "min": "0",
        "max": "1",
        "step": "0.01",
    }, "probabilities: 0 to 1 in hundredths"
    logits = {"y_true": "1, 0, 1, 0", "y_score": "2.5, -1.3, 0.4, -2.2", "threshold": "-1.5"}
    response = client.post("/metrics/roc-auc/calculate/", logits)
    slider = _slider(response.text)
    assert float(slider["min"]) <= -2.2 and float(slider["max"]) > 2.5
    assert float(slider["max"]) - float(slider["min"]) < 6, "the span of the scores, not more"
    assert (float(slider["max"]) - float(slider["min"])) / float(slider["step"]) >= 50
    assert slider["value"] == "-1.5"
    values = _values(response.text)
    assert values["recall"] == "1.0000" and values["specificity"] == "0.5000"


def test_a_changed_score_range_sends_a_new_slider_and_an_unchanged_one_does_not(client):
    logits = {"y_true": "1, 0, 1, 0", "y_score": "2.5, -1.3, 0.4, -2.2", "threshold": "1"}
    headers = {"HX-Request": "true"}
    moved = client.post(
        "/metrics/roc-auc/calculate/", {**logits, "threshold_scale": "0 1 0.01"}, headers=headers
    )
    oob = re.search(
        r'<div class="field field-range" id="id_threshold-field" hx-swap-oob="true">', moved.text
    )
    assert oob, "the slider comes with the results when its span changes"
    scale = re.search(r'name="threshold_scale" value="([^"]+)"', moved.text).group(1)
    assert scale.split()[0] == _slider(moved.text)["min"]
    same = client.post(
        "/metrics/roc-auc/calculate/", {**logits, "threshold_scale": scale}, headers=headers
    )
    assert 'id="id_threshold-field"' not in same.text, "moving the slider does not replace it"
    assert _values(same.text)["recall"] == "0.5000"


def test_ranking_calculator_offers_linear_and_exponential_gain(client):
    page = client.get("/metrics/ndcg/").text
    assert 'name="gain" value="linear"' in page and 'name="gain" value="exponential"' in page
    data = {"y_true": "3, 2, 1, 0", "y_score": "0.7, 0.9, 0.2, 0.5", "k": "3"}
    linear = client.post("/metrics/ndcg/calculate/", data)
    exponential = client.post("/metrics/ndcg/calculate/", {**data, "gain": "exponential"})
    assert _values(linear.text)["ndcg_at_k"] == "0.8175"
    assert _values(exponential.text)["ndcg_at_k"] == "0.7896"
    assert _values(exponential.text)["gain"] == "exponential"


def test_precision_at_k_is_0_not_undefined_for_a_query_without_relevant_items(client):
    response = client.post(
        "/metrics/precision-at-k/calculate/", {"y_true": "0, 0, 0", "y_score": "3, 2, 1", "k": "2"}
    )
    values = _values(response.text)
    assert values["precision_at_k"] == "0.0000"
    assert values["recall_at_k"] == "undefined"


def _example_data(calculator: str) -> tuple[str, dict]:
    metric = Metric.objects.filter(calculator=calculator).exclude(example={}).order_by("pk").first()
    assert metric is not None, f"no worked example for the {calculator} calculator"
    form = FORMS[calculator].from_example(metric.example)
    return metric.slug, {name: value for name, value in form.data.items() if value is not None}


@pytest.mark.parametrize("calculator", sorted(FORMS))
def test_every_calculators_link_reproduces_its_result(client, calculator):
    slug, data = _example_data(calculator)
    posted = client.post(f"/metrics/{slug}/calculate/", data)
    link = _link(posted.text)
    assert link.startswith(f"/metrics/{slug}/?")
    opened = client.get(link)
    assert opened.status_code == 200
    assert "Filled in from the link you opened" in opened.text
    assert _values(opened.text) == _values(posted.text) != {}
    assert _link(opened.text) == link


def test_htmx_puts_the_link_in_the_address_bar_without_a_history_entry_per_keystroke(client):
    data = {"clicks": "30", "impressions": "1200"}
    response = client.post("/metrics/ctr/calculate/", data, headers={"HX-Request": "true"})
    assert response["HX-Replace-Url"] == "/metrics/ctr/?clicks=30&impressions=1200"
    assert "HX-Push-Url" not in response


def test_a_link_computes_without_javascript_and_is_not_cached(client):
    first = client.get("/metrics/ctr/", {"clicks": "30", "impressions": "1200"})
    assert _values(first.text)["ctr"] == "0.0250"
    assert 'value="1200"' in first.text
    again = client.get("/metrics/ctr/", {"clicks": "1", "impressions": "4"})
    assert _values(again.text)["ctr"] == "0.2500"
    assert "X-Page-Cache" not in first and "X-Page-Cache" not in again
    client.get("/metrics/ctr/")
    assert client.get("/metrics/ctr/")["X-Page-Cache"] == "hit", "the plain page stays cached"


def test_a_query_string_without_calculator_inputs_shows_the_worked_example(client):
    response = client.get("/metrics/precision/", {"utm_source": "newsletter"})
    assert "Filled in with the worked example" in response.text
    assert 'data-key="precision">0.6000<' in response.text


def test_a_link_with_bad_inputs_says_what_is_wrong_at_the_field(client):
    response = client.get("/metrics/precision/", {"y_true": "1, 0, x", "y_pred": "1, 0, 1"})
    assert response.status_code == 200
    assert "is not a number" in _field_errors(response.text, "y_true")


def test_inputs_too_long_for_a_link_say_so_and_leave_the_address_alone(client):
    data = {"y_true": _numbers(2000).replace("2", "1").replace("3", "0").replace("4", "1")
            .replace("5", "0").replace("6", "1"), "y_pred": _numbers(2000).replace("2", "0")
            .replace("3", "1").replace("4", "0").replace("5", "1").replace("6", "0")}  # fmt: skip
    response = client.post("/metrics/precision/calculate/", data, headers={"HX-Request": "true"})
    assert 'data-key="precision"' in response.text
    assert 'class="share-link"><a' not in response.text
    assert f"a link holds at most {LINK_MAX_LENGTH:,}" in response.text
    assert response["HX-Replace-Url"] == "/metrics/precision/"


def _advice(text: str) -> str:
    return text.split('id="advice"', 1)[1]


def _recommended(text: str) -> list[str]:
    return re.findall(r'href="/metrics/([\w-]+)/"', _advice(text))


def _asked(text: str) -> list[str]:
    """The questions the chooser's form asks: radio groups first, then the checkbox."""
    form = re.search(r'<form[^>]*id="chooser-form".*?</form>', text, re.S).group()
    groups = re.findall(r"<legend>(.*?)</legend>", form)
    return groups + re.findall(r'<input type="checkbox"[^>]*> (.*?)</label>', form)


def test_chooser_recommends_for_rare_positives_where_misses_cost_more(client):
    response = client.get(
        "/metrics/choose/",
        {"task": "binary", "imbalance": "severe", "costlier": "fn", "ranked": "on"},
    )
    text = response.text
    for slug in ["pr-auc", "recall", "f-beta", "precision-at-k", "ctr", "latency-percentiles"]:
        assert f'href="/metrics/{slug}/"' in text, slug
    assert 'href="/metrics/accuracy/"' not in text


@pytest.mark.parametrize("imbalance", ["balanced", "moderate", "severe"])
@pytest.mark.parametrize("costlier", ["equal", "fp", "fn"])
def test_chooser_never_recommends_ctr_for_a_binary_model_whose_output_nobody_clicks(
    client, imbalance, costlier
):
    # A fraud, spam or abuse model: its output is a decision, not a list shown to users.
    query = {"task": "binary", "imbalance": imbalance, "costlier": costlier}
    recommended = _recommended(client.get("/metrics/choose/", query).text)
    assert "ctr" not in recommended
    assert "engagement-time" not in recommended
    assert {"conversion-rate", "user-retention"} <= set(recommended)


@pytest.mark.parametrize(
    "query",
    [
        {"task": "ranking"},
        {"task": "binary", "ranked": "on"},
        {"task": "multiclass", "ranked": "on"},
        {"task": "regression", "ranked": "on"},
    ],
)
def test_chooser_recommends_ctr_where_users_see_and_click_the_output(client, query):
    assert "ctr" in _recommended(client.get("/metrics/choose/", query).text)


def test_chooser_asks_only_what_the_model_does_until_a_task_is_chosen(client):
    text = client.get("/metrics/choose/").text
    assert _asked(text) == ["What does the model do?"]
    assert "Choose what your model does" in text


CLASS_QUESTIONS = ["How imbalanced are the classes?", "Which error costs more?"]
RANKED_QUESTION = "Users see the output as a ranked list or click on it (search, feeds, ads)"


@pytest.mark.parametrize(
    ("task", "follow_ups"),
    [
        ("binary", [*CLASS_QUESTIONS, RANKED_QUESTION]),
        ("multiclass", [*CLASS_QUESTIONS, RANKED_QUESTION]),
        ("regression", [RANKED_QUESTION]),
        ("ranking", []),
        ("detection", []),
        ("segmentation", []),
        ("rl", []),
    ],
)
def test_chooser_asks_only_the_questions_that_matter_for_the_task(client, task, follow_ups):
    text = client.get("/metrics/choose/", {"task": task}).text
    assert _asked(text) == ["What does the model do?", *follow_ups]


def test_answers_to_questions_not_asked_change_nothing(client):
    plain = client.get("/metrics/choose/", {"task": "ranking"}).text
    loaded = client.get(
        "/metrics/choose/",
        {"task": "ranking", "imbalance": "severe", "costlier": "fn", "ranked": "on"},
    ).text
    assert _advice(loaded) == _advice(plain)
    assert 'name="imbalance"' not in loaded and 'name="ranked"' not in loaded


def test_chooser_options_are_radio_buttons_so_no_option_text_is_cut_off(client):
    # A closed <select> shows its option in the width of the box, cut off on a phone; a radio
    # button's label wraps instead.
    text = client.get("/metrics/choose/", {"task": "binary"}).text
    assert "<select" not in text
    for label in ["Ranking or recommendation", "Severe (minority below 2 %)",
                  "False positives (false alarms) cost more"]:  # fmt: skip
        assert re.search(
            rf'<label class="choice"><input type="radio"[^>]*> {re.escape(label)}</label>', text
        ), label


def test_chooser_shows_the_answers_it_assumed_checked(client):
    text = client.get("/metrics/choose/", {"task": "binary"}).text
    assert re.search(r'<input type="radio" name="imbalance" value="balanced"[^>]*checked', text)
    assert re.search(r'<input type="radio" name="costlier" value="equal"[^>]*checked', text)
    assert re.search(r'<input type="radio" name="task" value="binary"[^>]*checked', text)


def test_chooser_for_htmx_sends_the_form_for_its_task_and_the_advice(client):
    response = client.get(
        "/metrics/choose/",
        {"task": "regression", "imbalance": "severe", "ranked": "on"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in response.text
    form = re.search(r'<form[^>]*id="chooser-form"[^>]*>', response.text).group()
    assert 'hx-swap-oob="true"' in form, "the form is replaced, with the questions for the task"
    assert _asked(response.text) == ["What does the model do?", RANKED_QUESTION]
    assert 'href="/metrics/mae/"' in response.text
    # The address bar gets the answers that count, so Back and Forward step through them.
    assert response["HX-Push-Url"] == "/metrics/choose/?task=regression&ranked=on"


def test_chooser_restoring_history_gets_the_whole_page(client):
    response = client.get(
        "/metrics/choose/",
        {"task": "ranking"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.text and 'href="/metrics/ndcg/"' in response.text


def test_chooser_rejects_an_unknown_task_at_the_field(client):
    response = client.get("/metrics/choose/", {"task": "astrology"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert "Offline: evaluate the model" not in response.text


# --- Size limits and the calculators' quota ----------------------------------------------------


def _slug(calculator: str) -> str:
    return (
        Metric.objects.filter(calculator=calculator)
        .order_by("pk")
        .values_list("slug", flat=True)[0]
    )


def _field_errors(text: str, field: str) -> str:
    errors = re.search(rf'id="id_{field}_error"[^>]*role="alert">(.*?)</div>', text, re.S)
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
    link = client.get(f"/metrics/{_slug('ctr')}/", data)
    assert link.status_code == 429, "a link computes too, so it counts against the quota"
    assert 'data-key="ctr"' not in link.text and 'value="1200"' in link.text
    assert client.get(f"/metrics/{_slug('ctr')}/").status_code == 200, "reading is not limited"
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
