"""The calculators' JSON API: results, its OpenAPI schema, and errors that explain themselves."""

import json
import math
import time

import pytest
from django.core.cache import cache, caches
from django.test import Client

from apps.metrics import quotas
from apps.metrics.computations import (
    MAX_BINS,
    MAX_BOXES,
    MAX_CATEGORIES,
    MAX_CLASSES,
    MAX_SCORES,
    MAX_SEGMENT_WORDS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARACTERS,
    MAX_VALUES,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits live in the cache, which outlives each test's database transaction."""
    cache.clear()


@pytest.fixture
def api():
    # CSRF does not apply to the API; enforce the checks to prove it.
    return Client(enforce_csrf_checks=True)


def post(api, name, payload):
    return api.post(
        f"/api/calculators/{name}", data=json.dumps(payload), content_type="application/json"
    )


def test_openapi_schema_lists_every_calculator(api):
    schema = api.get("/api/openapi.json").json()
    for name in [
        "binary-classification", "multiclass-classification", "regression", "ranking", "iou",
        "detection", "segmentation", "discounted-return", "latency",
    ]:  # fmt: skip
        assert f"/api/calculators/{name}" in schema["paths"], name
        assert "post" in schema["paths"][f"/api/calculators/{name}"]


def test_binary_classification_with_scores(api):
    response = post(
        api,
        "binary-classification",
        {"y_true": [1, 0, 1, 1, 0], "y_score": [0.9, 0.6, 0.4, 0.8, 0.1]},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["tp"], body["fp"], body["tn"], body["fn"]) == (2, 1, 1, 1)
    assert math.isclose(body["precision"], 2 / 3)
    assert math.isclose(body["roc_auc"], 5 / 6)
    assert body["roc_curve"][0]["threshold"] is None
    assert body["warnings"] == []


def test_undefined_values_are_null_with_a_reason(api):
    body = post(api, "binary-classification", {"y_true": [0, 0, 0], "y_pred": [0, 0, 0]}).json()
    assert body["precision"] is None and body["recall"] is None
    assert any("positive" in warning for warning in body["warnings"])


def test_regression_and_latency(api):
    body = post(api, "regression", {"y_true": [3, 5, 7], "y_pred": [2, 5, 9]}).json()
    assert math.isclose(body["mse"], 5 / 3) and math.isclose(body["mae"], 1.0)
    body = post(api, "latency", {"samples_ms": [10, 20, 30, 40, 1000]}).json()
    assert body["p50"] == 30 and body["max"] == 1000


def test_ranking_precision_is_0_for_a_query_without_relevant_items(api):
    payload = {"y_true": [[0, 0, 0]], "y_score": [[0.3, 0.2, 0.1]], "k": 2}
    body = post(api, "ranking", payload).json()
    assert body["precision_at_k"] == 0.0
    assert body["recall_at_k"] is None and body["ndcg_at_k"] is None
    assert body["queries"] == 1 and body["queries_evaluated"] == 0


def test_ranking_ndcg_takes_linear_or_exponential_gain(api):
    payload = {"y_true": [[3, 2, 1, 0]], "y_score": [[0.7, 0.9, 0.2, 0.5]], "k": 3}
    linear = post(api, "ranking", payload).json()
    exponential = post(api, "ranking", {**payload, "gain": "exponential"}).json()
    assert linear["gain"] == "linear" and math.isclose(linear["ndcg_at_k"], 0.817494, abs_tol=1e-6)
    assert math.isclose(exponential["ndcg_at_k"], 0.789596, abs_tol=1e-6)
    refused = post(api, "ranking", {**payload, "gain": "cubic"})
    assert refused.status_code == 422
    assert any("gain" in error["loc"] for error in refused.json()["detail"])


def test_iou_and_discounted_return(api):
    body = post(api, "iou", {"box_a": [0, 0, 2, 2], "box_b": [1, 1, 3, 3]}).json()
    assert math.isclose(body["iou"], 1 / 7)
    body = post(api, "discounted-return", {"rewards": [1, 1, 1], "gamma": 0.5}).json()
    assert body["returns"] == [1.75, 1.5, 1.0]


@pytest.mark.parametrize(
    ("name", "payload", "status", "field"),
    [
        ("binary-classification", {"y_true": [1, 0], "y_pred": [1]}, 400, "y_pred"),
        ("binary-classification", {"y_true": [1, 2], "y_pred": [1, 0]}, 400, "y_true"),
        ("binary-classification", {"y_true": [], "y_pred": []}, 422, "y_true"),
        ("binary-classification", {"y_true": ["a", 0], "y_pred": [1, 0]}, 422, "y_true"),
        (
            "binary-classification",
            {"y_true": [1] * 100_001, "y_pred": [1] * 100_001},
            422,
            "y_true",
        ),
        ("regression", {"y_true": [1, 2], "y_pred": [1, "NaN"]}, 400, "y_pred"),
        ("regression", {"y_true": [1, 2], "y_pred": [1, "Infinity"]}, 400, "y_pred"),
        ("ranking", {"y_true": [[1, 0]], "y_score": [[0.5]], "k": 2}, 400, "y_score"),
        ("iou", {"box_a": [0, 0, 1], "box_b": [0, 0, 1, 1]}, 422, "box_a"),
        ("discounted-return", {"rewards": [1], "gamma": 1.5}, 422, "gamma"),
        ("discounted-return", {"rewards": [1e308, 1e308], "gamma": 1}, 200, None),
        ("ranking", {"y_true": [[1, -1]], "y_score": [[1, 0]], "k": 1}, 400, "y_true"),
        ("ranking", {"y_true": [[1], []], "y_score": [[1], [0]]}, 422, "y_true"),
        ("detection", {"ground_truths": [{"image_id": 1}], "detections": []}, 422, "ground_truths"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(api, name, payload, status, field):
    response = post(api, name, payload)
    assert response.status_code == status, response.content
    if status == 200:
        return
    detail = response.json()["detail"]
    assert any(field in [str(part) for part in error["loc"]] for error in detail), detail
    assert all(error["msg"] for error in detail)


def test_malformed_json_is_a_4xx_not_a_500(api):
    response = api.post(
        "/api/calculators/regression", data="{not json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500


def test_calculators_refuse_get(api):
    assert api.get("/api/calculators/regression").status_code == 405


# --- Size limits ---------------------------------------------------------------------------------


def boxes(count, *, categories=1, scored=False):
    items = [
        {"image_id": i % 10, "category_id": i % categories, "bbox": [i % 50, 0, 10, 10]}
        for i in range(count)
    ]
    return [{**item, "score": 0.5} for item in items] if scored else items


@pytest.mark.parametrize(
    ("name", "payload", "status", "field", "limit"),
    [
        (
            "binary-classification",
            {"y_true": [0, 1] * (MAX_SCORES // 2 + 1), "y_score": [0.5] * (MAX_SCORES + 2)},
            422, "y_score", MAX_SCORES,
        ),
        ("regression", {"y_true": [1] * 3, "y_pred": [1] * (MAX_VALUES + 1)}, 422, "y_pred",
         MAX_VALUES),
        (
            "multiclass-classification",
            {"y_true": list(range(MAX_CLASSES + 1)), "y_pred": [0] * (MAX_CLASSES + 1)},
            400, "y_true", MAX_CLASSES,
        ),
        (
            "ranking",
            {"y_true": [[1] * (MAX_VALUES // 2 + 1)] * 2, "y_score": [[0] * 3] * 2},
            400, "y_true", MAX_VALUES,
        ),
        ("ranking", {"y_true": [[1]] * (MAX_VALUES + 1), "y_score": [[1]]}, 422, "y_true",
         MAX_VALUES),
        ("detection", {"ground_truths": boxes(MAX_BOXES + 1), "detections": []}, 422,
         "ground_truths", MAX_BOXES),
        (
            "detection",
            {"ground_truths": boxes(10), "detections": boxes(MAX_CATEGORIES + 1,
             categories=MAX_CATEGORIES + 1, scored=True)},
            400, "detections", MAX_CATEGORIES,
        ),
        (
            "segmentation",
            {"y_true": [[0] * 400] * 251, "y_pred": [[0] * 400] * 251, "num_classes": 2},
            400, "y_true", MAX_VALUES,
        ),
        ("segmentation", {"y_true": [[0]], "y_pred": [[0]], "num_classes": MAX_CLASSES + 1},
         422, "num_classes", MAX_CLASSES),
        ("latency", {"samples_ms": [1, 2], "bins": MAX_BINS + 1}, 422, "bins", MAX_BINS),
    ],
)  # fmt: skip
def test_over_a_size_limit_the_answer_names_the_field_and_the_limit(
    api, name, payload, status, field, limit
):
    response = post(api, name, payload)
    assert response.status_code == status, response.content[:300]
    detail = response.json()["detail"]
    error = next(e for e in detail if field in [str(part) for part in e["loc"]])
    assert f"{limit:,}" in error["msg"] or str(limit) in error["msg"], error


def test_at_the_limits_the_largest_requests_are_answered(api):
    assert post(api, "binary-classification", {
        "y_true": [0, 1] * (MAX_SCORES // 2), "y_score": [i / MAX_SCORES for i in range(MAX_SCORES)]
    }).status_code == 200  # fmt: skip
    response = post(api, "detection", {
        "ground_truths": boxes(MAX_BOXES, categories=MAX_CATEGORIES),
        "detections": boxes(MAX_BOXES, categories=MAX_CATEGORIES, scored=True),
    })  # fmt: skip
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["per_category"]) == MAX_CATEGORIES


def test_a_body_over_the_upload_limit_is_a_413_in_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(api, "regression", {"y_true": [1.5] * 300, "y_pred": [1.5] * 300})
    assert response.status_code == 413
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert "MB" in response.json()["detail"][0]["msg"]


def test_100_000_one_item_queries_are_answered_quickly_and_correctly(api):
    # A denial-of-service check: it took 10 s when every query was ranked in a Python loop.
    n = MAX_VALUES
    y_true = [[1], [0]] * (n // 2)
    y_score = [[0.25]] * n
    started = time.monotonic()
    response = post(api, "ranking", {"y_true": y_true, "y_score": y_score, "k": 2})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["queries_evaluated"] == n // 2
    assert body["ndcg_at_k"] == 1.0 and body["mrr"] == 1.0 and body["map_at_k"] == 1.0
    # Precision counts the queries without a relevant item too, at 0: (1/2 + 0) / 2.
    assert body["recall_at_k"] == 1.0 and body["precision_at_k"] == 0.25
    assert any("fewer than k = 2" in warning for warning in body["warnings"])
    assert elapsed < 3, f"{elapsed:.1f} s for {n:,} one-item queries"


def test_the_schema_documents_every_limit_and_refusal(api):
    schema = api.get("/api/openapi.json").json()
    assert f"{quotas.API.anonymous.limit} requests a minute" in schema["info"]["description"]
    fields = schema["components"]["schemas"]
    for name, field, limit in [
        ("BinaryIn", "y_score", MAX_SCORES),
        ("RankingIn", "y_true", MAX_VALUES),
        ("DetectionIn", "detections", MAX_BOXES),
        ("SegmentationIn", "y_true", MAX_VALUES),
    ]:
        assert f"{limit:,}" in fields[name]["properties"][field]["description"], (name, field)
    for path, operations in schema["paths"].items():
        responses = operations["post"]["responses"]
        assert {"400", "413", "422", "429"} <= responses.keys(), path
        assert "Retry-After" in responses["429"]["headers"], path


# --- Rate limit ----------------------------------------------------------------------------------

BOXES = {"box_a": [0, 0, 2, 2], "box_b": [1, 1, 3, 3]}


def test_over_the_rate_limit_an_address_gets_429_with_retry_after_and_others_do_not(api):
    limit = quotas.API.anonymous.limit
    for _ in range(limit):
        assert post(api, "iou", BOXES).status_code == 200
    refused = post(api, "iou", BOXES)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == quotas.API.window
    assert refused["Content-Type"].startswith("application/json")
    detail = refused.json()["detail"]
    assert "Too many requests" in detail[0]["msg"] and detail[0]["loc"] == []
    # Refused before the body is read: even a broken body gets the 429.
    assert post(api, "iou", {"box_a": "nonsense"}).status_code == 429
    elsewhere = Client(REMOTE_ADDR="192.0.2.77")
    assert post(elsewhere, "iou", BOXES).status_code == 200


def test_after_the_window_the_address_may_call_again(api, monkeypatch):
    from django.core.cache.backends import locmem

    if not isinstance(caches["default"], locmem.LocMemCache):
        pytest.skip("moves the clock of the in-memory cache only")
    for _ in range(quotas.API.anonymous.limit):
        post(api, "iou", BOXES)
    assert post(api, "iou", BOXES).status_code == 429
    later = time.time() + quotas.API.window + 1
    monkeypatch.setattr(locmem, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))
    assert post(api, "iou", BOXES).status_code == 200


def test_signed_in_users_get_a_higher_limit_of_their_own(api, alice):
    anonymous_limit = quotas.API.anonymous.limit
    for _ in range(anonymous_limit):
        post(api, "iou", BOXES)
    assert post(api, "iou", BOXES).status_code == 429
    api.force_login(alice)
    for _ in range(anonymous_limit + 5):
        assert post(api, "iou", BOXES).status_code == 200
    assert quotas.API.signed_in.limit > anonymous_limit


# --- The calibration, operating-point, forecasting, recommendation, language and business ------
# --- calculators --------------------------------------------------------------------------------

NEW_ENDPOINTS = {
    "calibration": (
        {"y_true": [0, 1, 1, 0], "y_prob": [0.1, 0.8, 0.6, 0.4], "n_bins": 2},
        {"ece": 0.275, "brier_score": 0.0925},
    ),
    "operating-point": (
        {"y_true": [1, 1, 0, 1, 0, 0], "y_score": [0.9, 0.8, 0.7, 0.6, 0.3, 0.1],
         "target_recall": 1, "target_precision": 0.9},
        {"precision_at_recall.value": 0.75, "recall_at_precision.threshold": 0.8},
    ),
    "top-k-accuracy": (
        {"y_true": [0, 2], "y_score": [[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]], "k": 2},
        {"top_k_accuracy": 1.0, "by_k.0": 0.5},
    ),
    "prevalence": (
        {"positives": 200, "total": 100_000, "recall": 0.9, "specificity": 0.99},
        {"prevalence": 0.002, "one_in": 500},
    ),
    "percentage-errors": (
        {"y_true": [100, 50, 10], "y_pred": [110, 40, 20]},
        {"mape": (0.1 + 0.2 + 1.0) / 3, "wape": 30 / 160},
    ),
    "pinball-loss": ({"y_true": [10, 20], "y_pred": [12, 15], "alpha": 0.9},
                     {"pinball_loss": (0.1 * 2 + 0.9 * 5) / 2, "share_below": 0.5}),
    "hit-rate": (
        {"y_true": [[1, 0, 1, 1, 1]], "y_score": [[0.9, 0.8, 0.3, 0.2, 0.1]], "k": 2},
        {"hit_rate_at_k": 1.0, "recall_at_k": 0.25},
    ),
    "coverage": (
        {"recommendations": [["a", "b"], ["a", "c"]], "catalog_size": 4,
         "categories": [["x", "x"], ["x", "y"]]},
        {"coverage": 0.75, "intra_list_diversity": 0.5},
    ),
    "perplexity": ({"logprobs": [-math.log(4)] * 3}, {"perplexity": 4.0, "bits_per_token": 2.0}),
    "bleu": (
        {"hypotheses": ["the cat sat on the mat"], "references": [["the cat is on the mat"]]},
        {"bleu": 37.99178428257963, "brevity_penalty": 1.0},
    ),
    "word-error-rate": (
        {"references": ["the cat sat on the mat"], "hypotheses": ["the cat sit on mat"]},
        {"wer": 2 / 6, "edits": 2},
    ),
    "fraud-loss-rate": (
        {"fraud_losses": 42_000, "payment_volume": 60_000_000, "false_declines": 1_500,
         "legitimate_attempts": 500_000},
        {"fraud_loss_bps": 7.0, "false_decline_rate": 0.003},
    ),
    "search-success": (
        {"sessions": 20_000, "successful_sessions": 13_000, "searches": 50_000,
         "zero_result_searches": 2_000},
        {"search_success_rate": 0.65, "zero_result_rate": 0.04},
    ),
    "gmv": ({"order_values": [25, 40, 35], "marketplace_revenue": 12},
            {"gmv": 100.0, "take_rate": 0.12}),
    "ecpm": ({"revenue": 37.5, "impressions": 15_000, "clicks": 45},
             {"ecpm": 2.5, "ctr": 0.003}),
}  # fmt: skip


def _at(body, path):
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


@pytest.mark.parametrize("name", NEW_ENDPOINTS)
def test_new_calculators_answer_in_the_schema_and_compute(api, name):
    schema = api.get("/api/openapi.json").json()
    assert "post" in schema["paths"][f"/api/calculators/{name}"]
    payload, expected = NEW_ENDPOINTS[name]
    response = post(api, name, payload)
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    for path, value in expected.items():
        assert math.isclose(_at(body, path), value, rel_tol=1e-9), path
    assert isinstance(body["warnings"], list)


@pytest.mark.parametrize(
    ("name", "payload", "status", "field"),
    [
        ("calibration", {"y_true": [0, 1], "y_prob": [0.2, 1.2]}, 400, "y_prob"),
        ("calibration", {"y_true": [0, 1], "y_prob": [0.2, 0.3], "strategy": "x"}, 422,
         "strategy"),
        ("calibration", {"y_true": [0, 1], "y_prob": [0.2, 0.3], "n_bins": MAX_BINS + 1}, 422,
         "n_bins"),
        ("operating-point", {"y_true": [0, 1], "y_score": [0.2, 0.3], "target_recall": 0}, 422,
         "target_recall"),
        ("operating-point", {"y_true": [0, 1], "y_score": [0.2]}, 400, "y_score"),
        ("top-k-accuracy", {"y_true": [0, 5], "y_score": [[1, 0], [0, 1]]}, 400, "y_true"),
        ("top-k-accuracy", {"y_true": [0], "y_score": [[1, 0]], "k": 0}, 422, "k"),
        ("prevalence", {"positives": 5, "total": 4}, 400, "positives"),
        ("prevalence", {"positives": 1, "total": 4, "recall": 2}, 422, "recall"),
        ("percentage-errors", {"y_true": [1], "y_pred": [1, 2]}, 400, "y_pred"),
        ("pinball-loss", {"y_true": [1], "y_pred": [1], "alpha": 1.5}, 422, "alpha"),
        ("hit-rate", {"y_true": [[1, -1]], "y_score": [[1, 0]], "k": 1}, 400, "y_true"),
        ("coverage", {"recommendations": [[1, 2, 3]], "catalog_size": 2}, 400, "catalog_size"),
        ("coverage", {"recommendations": [[1], []], "catalog_size": 2}, 422, "recommendations"),
        ("perplexity", {"logprobs": [0.5]}, 400, "logprobs"),
        ("bleu", {"hypotheses": ["a"], "references": [["a"], ["b"]]}, 400, "references"),
        ("bleu", {"hypotheses": ["a"], "references": [[]]}, 422, "references"),
        ("bleu", {"hypotheses": ["a"], "references": [["a"]], "smooth_method": "x"}, 422,
         "smooth_method"),
        ("bleu", {"hypotheses": ["a"] * (MAX_SEGMENTS + 1), "references": [["a"]]}, 422,
         "hypotheses"),
        ("bleu", {"hypotheses": ["a" * MAX_TEXT_CHARACTERS], "references": [["b"]]}, 400,
         "hypotheses"),
        ("word-error-rate", {"references": ["a b"], "hypotheses": ["a", "b"]}, 400,
         "hypotheses"),
        ("word-error-rate", {"references": ["a " * (MAX_SEGMENT_WORDS + 1)], "hypotheses": ["a"]},
         400, "references"),
        ("word-error-rate", {"references": [1], "hypotheses": ["a"]}, 422, "references"),
        ("fraud-loss-rate", {"fraud_losses": -1, "payment_volume": 10}, 422, "fraud_losses"),
        ("fraud-loss-rate", {"fraud_losses": 1, "payment_volume": 10, "false_declines": 3}, 400,
         "legitimate_attempts"),
        ("search-success", {"sessions": 5, "successful_sessions": 6}, 400, "successful_sessions"),
        ("gmv", {"order_values": [10, -3]}, 400, "order_values"),
        ("ecpm", {"revenue": 1, "impressions": 10, "clicks": 11}, 400, "clicks"),
    ],
)  # fmt: skip
def test_new_calculators_refuse_bad_input_with_a_4xx_naming_the_field(
    api, name, payload, status, field
):
    response = post(api, name, payload)
    assert response.status_code == status, response.content[:300]
    detail = response.json()["detail"]
    assert any(field in [str(part) for part in error["loc"]] for error in detail), detail
    assert all(error["msg"] for error in detail)


def test_the_schema_documents_the_text_limits(api):
    schema = api.get("/api/openapi.json").json()
    description = schema["info"]["description"]
    for limit in (MAX_SEGMENTS, MAX_TEXT_CHARACTERS, MAX_SEGMENT_WORDS):
        assert f"{limit:,}" in description
    fields = schema["components"]["schemas"]
    assert f"{MAX_TEXT_CHARACTERS:,}" in fields["BleuIn"]["properties"]["hypotheses"]["description"]
    assert (
        f"{MAX_SEGMENT_WORDS:,}"
        in (fields["WordErrorRateIn"]["properties"]["references"]["description"])
    )


def test_the_largest_text_requests_are_answered_quickly(api):
    # A denial-of-service bound through the API: parsing, computing and answering in JSON.
    words = ["a", "bb", "c", "dd"]
    sentence = " ".join(words[i % 4] for i in range(MAX_SEGMENT_WORDS))
    pairs = MAX_TEXT_CHARACTERS // (2 * len(sentence))
    started = time.monotonic()
    response = post(
        api,
        "word-error-rate",
        {"references": [sentence] * pairs, "hypotheses": [sentence[::-1]] * pairs},
    )
    assert response.status_code == 200 and response.json()["sentences"] == pairs
    short = "the cat sat on the mat"
    segments = min(MAX_SEGMENTS, MAX_TEXT_CHARACTERS // (5 * len(short)))
    response = post(
        api, "bleu", {"hypotheses": [short] * segments, "references": [[short] * 4] * segments}
    )
    assert response.status_code == 200 and response.json()["bleu"] == pytest.approx(100)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("body", "kind"),
    [("[1, 0]", "a list"), ('"y_true"', "a string"), ("null", "null"), ("3", "a number"),
     ("true", "true or false"), ('[{"y_true": [1], "y_pred": [1]}]', "a list")],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/calculators/regression", "/api/estimates/nines"])
def test_a_body_that_is_not_a_json_object_is_told_so_not_that_fields_are_missing(
    api, path, body, kind
):
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert f"The body is {kind}; send a JSON object" in error["msg"]


def test_a_schema_error_names_the_field_as_the_documented_loc_does(api):
    response = post(api, "regression", {"y_true": [1, "x"], "y_pred": [1, 2]})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "y_true", 1]]
