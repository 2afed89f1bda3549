"""JSON API for the calculators. Every endpoint is a POST that computes and changes nothing.

Errors have one shape, whoever finds them (the schema, the computation or the rate limit):
``{"detail": [{"loc": ["body", "<field>"], "msg": "<what is wrong>"}]}`` with 422 for a body
that does not fit the schema, 400 for values the computation refuses, 413 for a body over the
upload limit and 429 for a caller over its rate limit.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.throttling import BaseThrottle
from pydantic import Field

from apps.metrics import computations, quotas
from apps.metrics.computations import (
    MAX_BINS,
    MAX_BOXES,
    MAX_CATEGORIES,
    MAX_CLASSES,
    MAX_REFERENCES,
    MAX_SCORES,
    MAX_SEGMENT_WORDS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARACTERS,
    MAX_VALUES,
    InputError,
)


class CalculationThrottle(BaseThrottle):
    """The API's quota: per address for anonymous callers, per account when signed in.

    Checked before the body is read, so a refused request costs a cache increment.
    """

    def allow_request(self, request: HttpRequest) -> bool:
        return not quotas.API.refuses(request)

    def wait(self) -> int:
        return quotas.API.window


_BODY_MB = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)

api = NinjaAPI(
    title="MLSD Handbook calculators",
    version="1",
    description=f"""Metric computations that agree with scikit-learn, pycocotools, sacrebleu and
jiwer.

**Size limits:** every request is bounded so that the largest one allowed is answered in about
a quarter of a second: at most {MAX_VALUES:,} values in a list (a ranking's queries and a
mask's rows count every value they hold), {MAX_SCORES:,} scores for binary classification
(each distinct score is a point on both curves), {MAX_CLASSES:,} classes, {MAX_BINS:,}
histogram bins, {MAX_BOXES:,} boxes in each detection list in at most {MAX_CATEGORIES:,}
categories, {MAX_SEGMENTS:,} sentences and {MAX_TEXT_CHARACTERS:,} characters of text for BLEU
and word error rate ({MAX_SEGMENT_WORDS:,} words a sentence for word error rate, whose cost is
the product of two sentence lengths), and a body of {_BODY_MB} MB. Each field's description
gives its own limit. Over a limit the answer is 422 or 400 and names the field.

**Rate limit:** {quotas.API.describe()}. Beyond it the answer is 429 with a
`Retry-After` header, in seconds.

**Errors** look like `{{"detail": [{{"loc": [...], "msg": "..."}}]}}`: `loc` ends with the field
that is wrong and `msg` says what is wrong and what is allowed.""",
    urls_namespace="api",
    throttle=[CalculationThrottle()],
)


Values = Annotated[list[float], Field(min_length=1, max_length=MAX_VALUES)]
Scores = Annotated[list[float], Field(min_length=1, max_length=MAX_SCORES)]
Labels = Annotated[list[int | str], Field(min_length=1, max_length=MAX_VALUES)]
Query = Annotated[list[float], Field(min_length=1, max_length=MAX_VALUES)]
Queries = Annotated[list[Query], Field(min_length=1, max_length=MAX_VALUES)]
MaskRow = Annotated[list[int], Field(min_length=1, max_length=MAX_VALUES)]
Mask = Annotated[list[MaskRow], Field(min_length=1, max_length=MAX_VALUES)]
Box = Annotated[list[float], Field(min_length=4, max_length=4)]
Count = Annotated[int, Field(ge=0, le=computations.MAX_COUNT)]

AT_MOST_VALUES = f"At most {MAX_VALUES:,}."
QUERIES = (
    f"One list per query, in the same order in y_true and y_score: at most {MAX_VALUES:,} "
    "values in all."
)
MASK = f"Class ids in [0, num_classes), one list per row: at most {MAX_VALUES:,} pixels in all."
BOXES = (
    f"At most {MAX_BOXES:,} boxes; ground truths and detections together may name at most "
    f"{MAX_CATEGORIES:,} categories."
)


def _error(request: HttpRequest, loc: list[str], msg: str, status: int):
    return api.create_response(request, {"detail": [{"loc": loc, "msg": msg}]}, status=status)


@api.exception_handler(InputError)
def input_error(request: HttpRequest, exc: InputError):
    return _error(request, ["body", exc.field], exc.message, 400)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError):
    # Ninja's own refusals (a body that is not JSON, say) in the same shape as ours.
    return _error(
        request, ["body"], f"{exc}: send a JSON object in the request body.", exc.status_code
    )


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled):
    # Ninja adds the Retry-After header from CalculationThrottle.wait().
    message = (
        f"Too many requests: {quotas.API.describe()}. Wait up to {quotas.API.window} seconds "
        "(see Retry-After) and try again."
    )
    return _error(request, [], message, 429)


@api.exception_handler(RequestDataTooBig)
def body_too_big(request: HttpRequest, exc: RequestDataTooBig):
    message = (
        f"The request body is larger than {_BODY_MB} MB; send less data (see the size limits "
        "in each field's description)."
    )
    return _error(request, ["body"], message, 413)


_JSON_KINDS = {list: "a list", str: "a string", bool: "true or false", type(None): "null"}


@api.exception_handler(NinjaValidationError)
def schema_error(request: HttpRequest, exc: NinjaValidationError):
    # Ninja has parsed the body already, so it is valid JSON within the upload limit. Anything
    # but an object would otherwise be told that each field is missing.
    body = json.loads(request.body or b"{}")
    if not isinstance(body, dict):
        kind = _JSON_KINDS.get(type(body), "a number")
        message = f'The body is {kind}; send a JSON object of fields, {{"y_true": [...], ...}}.'
        return _error(request, ["body"], message, 422)
    detail = [
        {"loc": _field_loc(error.get("loc", [])), "msg": error.get("msg", "invalid value")}
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


def _field_loc(loc) -> list:
    """``["body", "payload", "y_true", 3]`` as documented: ``["body", "y_true", 3]`` (the
    name of the view's argument means nothing to a caller)."""
    loc = list(loc)
    return loc[:1] + loc[2:] if loc[1:2] == ["payload"] else loc


class BinaryIn(Schema):
    y_true: Values = Field(description=f"True labels, 0 or 1. {AT_MOST_VALUES}")
    y_score: Scores | None = Field(
        None,
        description=(
            "A score per example (a probability, or any real number such as a logit); give "
            f"y_score or y_pred. At most {MAX_SCORES:,}: each distinct score is a point on "
            "the ROC and precision-recall curves."
        ),
    )
    y_pred: Values | None = Field(
        None, description=f"A 0/1 prediction per example, instead of y_score. {AT_MOST_VALUES}"
    )
    threshold: float = Field(0.5, description="A score at or above it counts as positive.")
    beta: float = Field(1.0, description="How much more recall weighs than precision in F-beta.")


class MulticlassIn(Schema):
    y_true: Labels = Field(
        description=(
            f"True class labels: all integers or all strings. {AT_MOST_VALUES} The two lists "
            f"together may name at most {MAX_CLASSES:,} classes."
        )
    )
    y_pred: Labels = Field(description=f"Predicted class labels, like y_true. {AT_MOST_VALUES}")


class RegressionIn(Schema):
    y_true: Values = Field(description=f"True values. {AT_MOST_VALUES}")
    y_pred: Values = Field(description=f"Predicted values. {AT_MOST_VALUES}")
    n_features: Count | None = Field(
        None, description="Number of predictors in the model, for adjusted R²."
    )
    delta: float = Field(1.0, description="Huber loss threshold, above 0.")


class RankingIn(Schema):
    y_true: Queries = Field(description=f"Relevance grades, 0 or more. {QUERIES}")
    y_score: Queries = Field(description=f"The model's scores. {QUERIES}")
    k: Annotated[int, Field(ge=1, le=computations.MAX_COUNT)] = Field(
        10, description="How many top-ranked items count."
    )
    gain: Literal["linear", "exponential"] = Field(
        "linear",
        description="NDCG's gain: the grade itself (linear, as scikit-learn) or 2^grade - 1.",
    )


class IoUIn(Schema):
    box_a: Box = Field(description="[x1, y1, x2, y2] with x2 ≥ x1 and y2 ≥ y1.")
    box_b: Box = Field(description="[x1, y1, x2, y2] with x2 ≥ x1 and y2 ≥ y1.")


class GroundTruth(Schema):
    image_id: Count
    category_id: Count
    bbox: Box = Field(description="[x, y, width, height], as in COCO.")


class Detection(GroundTruth):
    score: float


class DetectionIn(Schema):
    ground_truths: Annotated[list[GroundTruth], Field(min_length=1, max_length=MAX_BOXES)] = Field(
        description=BOXES
    )
    detections: Annotated[list[Detection], Field(max_length=MAX_BOXES)] = Field(description=BOXES)


class SegmentationIn(Schema):
    y_true: Mask = Field(description=f"The true mask. {MASK}")
    y_pred: Mask = Field(description=f"The predicted mask, the same shape. {MASK}")
    num_classes: Annotated[int, Field(ge=1, le=MAX_CLASSES)] = Field(
        description=f"Number of classes, 1 to {MAX_CLASSES:,}."
    )


class DiscountedReturnIn(Schema):
    rewards: Values = Field(description=f"Reward at each step. {AT_MOST_VALUES}")
    gamma: Annotated[float, Field(ge=0, le=1)] = Field(description="Discount, 0 to 1.")


class LatencyIn(Schema):
    samples_ms: Values = Field(
        description=f"Latencies in milliseconds, 0 or more. {AT_MOST_VALUES}"
    )
    bins: Annotated[int, Field(ge=1, le=MAX_BINS)] = Field(
        20, description=f"Histogram bins, 1 to {MAX_BINS:,}."
    )


Probability = Annotated[float, Field(ge=0, le=1)]
Sentences = Annotated[list[str], Field(min_length=1, max_length=MAX_SEGMENTS)]
TEXT = (
    f"At most {MAX_SEGMENTS:,} sentences, and {MAX_TEXT_CHARACTERS:,} characters in all, "
    "hypotheses and references together."
)
Ids = Annotated[list[int | str], Field(min_length=1, max_length=MAX_VALUES)]
IdLists = Annotated[list[Ids], Field(min_length=1, max_length=MAX_VALUES)]
ID_LISTS = f"One list per user, ids as integers or strings: at most {MAX_VALUES:,} ids in all."
Money = Annotated[float, Field(ge=0)]


class CalibrationIn(Schema):
    y_true: Values = Field(description=f"True labels, 0 or 1. {AT_MOST_VALUES}")
    y_prob: Values = Field(description=f"Predicted probability of 1, 0 to 1. {AT_MOST_VALUES}")
    n_bins: Annotated[int, Field(ge=1, le=MAX_BINS)] = Field(
        10, description=f"Bins for the reliability diagram, 1 to {MAX_BINS:,}."
    )
    strategy: Literal["uniform", "quantile"] = Field(
        "uniform", description="Bins of equal width, or of equal counts, as calibration_curve."
    )


class OperatingPointIn(Schema):
    y_true: Scores = Field(description=f"True labels, 0 or 1. At most {MAX_SCORES:,}.")
    y_score: Scores = Field(
        description=f"A score per example; each distinct score is a threshold. At most "
        f"{MAX_SCORES:,}."
    )
    target_recall: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9, description="The recall to reach: above 0, at most 1."
    )
    target_precision: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9, description="The precision to reach: above 0, at most 1."
    )


class TopKAccuracyIn(Schema):
    y_true: Values = Field(description=f"Column of the true class, 0 to C - 1. {AT_MOST_VALUES}")
    y_score: Annotated[list[Query], Field(min_length=1, max_length=MAX_VALUES)] = Field(
        description=f"One row of C class scores per example, 2 ≤ C ≤ {MAX_CLASSES:,}: at most "
        f"{MAX_VALUES:,} scores in all."
    )
    k: Annotated[int, Field(ge=1, le=computations.MAX_COUNT)] = Field(
        5, description="How many top-scored classes count as a hit."
    )


class PrevalenceIn(Schema):
    positives: Count = Field(description="Positive examples in the population.")
    total: Count = Field(description="All examples in the population.")
    recall: Probability | None = Field(None, description="A classifier's recall, 0 to 1.")
    specificity: Probability | None = Field(
        None, description="The same classifier's specificity, 0 to 1."
    )


class PercentageErrorsIn(Schema):
    y_true: Values = Field(description=f"True values (actuals). {AT_MOST_VALUES}")
    y_pred: Values = Field(description=f"Forecasts. {AT_MOST_VALUES}")


class PinballLossIn(Schema):
    y_true: Values = Field(description=f"True values. {AT_MOST_VALUES}")
    y_pred: Values = Field(description=f"Forecasts of the alpha quantile. {AT_MOST_VALUES}")
    alpha: Probability = Field(0.5, description="The quantile forecast, 0 to 1.")


class HitRateIn(Schema):
    y_true: Queries = Field(description=f"Relevance grades, 0 or more. {QUERIES}")
    y_score: Queries = Field(description=f"The model's scores. {QUERIES}")
    k: Annotated[int, Field(ge=1, le=computations.MAX_COUNT)] = Field(
        10, description="How many top-ranked items count."
    )


class CoverageIn(Schema):
    recommendations: IdLists = Field(description=f"Recommended item ids. {ID_LISTS}")
    catalog_size: Annotated[int, Field(ge=1, le=computations.MAX_COUNT)] = Field(
        description="Items in the catalog, at least the distinct items recommended."
    )
    categories: IdLists | None = Field(
        None, description="A category for each recommended item, lists of the same shapes."
    )


class PerplexityIn(Schema):
    logprobs: Values = Field(
        description=f"Natural-log probability of each token, 0 or below. {AT_MOST_VALUES}"
    )


class BleuIn(Schema):
    hypotheses: Sentences = Field(description=f"System outputs, one sentence each. {TEXT}")
    references: Annotated[
        list[Annotated[list[str], Field(min_length=1, max_length=MAX_REFERENCES)]],
        Field(min_length=1, max_length=MAX_SEGMENTS),
    ] = Field(
        description=f"For each hypothesis, a list of 1 to {MAX_REFERENCES} reference "
        f"sentences. {TEXT}"
    )
    smooth_method: Literal["exp", "floor", "add-k", "none"] = Field(
        "exp", description="sacrebleu's smoothing; exp is its default."
    )
    smooth_value: Annotated[float, Field(ge=0)] | None = Field(
        None, description="For floor (default 0.1) and add-k (default 1)."
    )
    lowercase: bool = Field(False, description="Compare lowercased text.")
    tokenize: Literal["13a", "none"] = Field(
        "13a", description="13a (sacrebleu's default) or none (split on white space only)."
    )


class WordErrorRateIn(Schema):
    references: Sentences = Field(
        description=f"Reference transcripts. {TEXT} At most {MAX_SEGMENT_WORDS:,} words each."
    )
    hypotheses: Sentences = Field(
        description=f"Recognised transcripts, in the same order. At most "
        f"{MAX_SEGMENT_WORDS:,} words each."
    )


class FraudLossRateIn(Schema):
    fraud_losses: Money = Field(description="Money lost to fraud in the period.")
    payment_volume: Money = Field(description="Payment volume in the period, same currency.")
    false_declines: Count | None = Field(None, description="Legitimate payments declined.")
    legitimate_attempts: Count | None = Field(
        None, description="Legitimate payment attempts, declined or not."
    )


class SearchSuccessIn(Schema):
    sessions: Count = Field(description="Search sessions.")
    successful_sessions: Count = Field(description="Sessions the product counts as a success.")
    searches: Count | None = Field(None, description="Searches (queries issued).")
    zero_result_searches: Count | None = Field(None, description="Searches with no result.")


class GmvIn(Schema):
    order_values: Values = Field(description=f"Value of each order, 0 or more. {AT_MOST_VALUES}")
    marketplace_revenue: Money | None = Field(
        None, description="What the marketplace kept from these orders, for the take rate."
    )


class EcpmIn(Schema):
    revenue: Money = Field(description="Ad revenue from these impressions.")
    impressions: Count = Field(description="Impressions served.")
    clicks: Count | None = Field(None, description="Clicks, for CTR and revenue per click.")


#: name → (input schema, summary): one POST endpoint each.
ENDPOINTS: dict[str, tuple[type[Schema], str]] = {
    "binary-classification": (BinaryIn, "Binary classification metrics"),
    "multiclass-classification": (MulticlassIn, "Multiclass classification metrics"),
    "regression": (RegressionIn, "Regression metrics"),
    "ranking": (RankingIn, "Ranking metrics at k, averaged over queries"),
    "iou": (IoUIn, "Intersection over union of two boxes"),
    "detection": (DetectionIn, "COCO-style mAP for bounding boxes"),
    "segmentation": (SegmentationIn, "Per-class IoU and mIoU of two label grids"),
    "discounted-return": (DiscountedReturnIn, "Discounted return at every step"),
    "latency": (LatencyIn, "Latency percentiles and histogram"),
    "calibration": (CalibrationIn, "Expected calibration error, Brier score, reliability bins"),
    "operating-point": (
        OperatingPointIn,
        "Precision at a recall, recall at a precision, FPR at a recall",
    ),
    "top-k-accuracy": (TopKAccuracyIn, "Top-k accuracy over class scores"),
    "prevalence": (PrevalenceIn, "Prevalence and a classifier's predictive values at it"),
    "percentage-errors": (PercentageErrorsIn, "MAPE, sMAPE and WAPE"),
    "pinball-loss": (PinballLossIn, "Mean pinball (quantile) loss"),
    "hit-rate": (HitRateIn, "Hit rate at k over queries or users"),
    "coverage": (CoverageIn, "Catalog coverage, exposure Gini and entropy, list diversity"),
    "perplexity": (PerplexityIn, "Perplexity from token log-probabilities"),
    "bleu": (BleuIn, "Corpus BLEU, as sacrebleu computes it"),
    "word-error-rate": (WordErrorRateIn, "Word error rate, as jiwer computes it"),
    "fraud-loss-rate": (FraudLossRateIn, "Fraud losses in basis points, false-decline rate"),
    "search-success": (SearchSuccessIn, "Search success rate and zero-result rate"),
    "gmv": (GmvIn, "Gross merchandise value, average order value, take rate"),
    "ecpm": (EcpmIn, "Revenue per thousand impressions"),
}


def _endpoint(name: str, schema: type[Schema]):
    def compute(request: HttpRequest, payload):
        return computations.CALCULATORS[name](**payload.dict())

    # Ninja reads the body schema from the annotation.
    compute.__annotations__["payload"] = schema
    compute.__name__ = name.replace("-", "_")
    return compute


_ERROR_BODY = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        }
    },
}


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_BODY}}}


#: The refusals every endpoint may answer with, documented in the schema.
ERROR_RESPONSES = {
    "400": _error_response("A value the computation refuses; `loc` names the field."),
    "413": _error_response(f"The body is larger than {_BODY_MB} MB."),
    "422": _error_response(
        "The body does not fit the schema: a wrong type or a list over its size limit; `loc` "
        "names the field."
    ),
    "429": {
        **_error_response(f"Over the rate limit: {quotas.API.describe()}."),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer"},
            }
        },
    },
}

api.add_router("/estimates", "apps.estimates.api.router")

for _name, (_schema, _summary) in ENDPOINTS.items():
    api.post(
        f"/calculators/{_name}", summary=_summary, openapi_extra={"responses": ERROR_RESPONSES}
    )(_endpoint(_name, _schema))
