"""The calculators' JSON API: results, its OpenAPI schema, and errors that explain themselves."""

import json
import math

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


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
        ("discounted-return", {"rewards": [1], "gamma": 1.5}, 400, "gamma"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(api, name, payload, status, field):
    response = post(api, name, payload)
    assert response.status_code == status, response.content
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
