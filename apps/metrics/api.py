"""JSON API for the calculators. Every endpoint is a POST that computes and changes nothing.

Errors have one shape, whoever finds them (the schema, the computation or the rate limit):
``{"detail": [{"loc": ["body", "<field>"], "msg": "<what is wrong>"}]}`` with 422 for a body
that does not fit the schema, 400 for values the computation refuses, 413 for a body over the
upload limit and 429 for a caller over its rate limit.
"""

from __future__ import annotations

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
    MAX_SCORES,
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
    description=f"""Metric computations that agree with scikit-learn and pycocotools.

**Size limits:** every request is bounded so that the largest one allowed is answered in about
a quarter of a second: at most {MAX_VALUES:,} values in a list (a ranking's queries and a
mask's rows count every value they hold), {MAX_SCORES:,} scores for binary classification
(each distinct score is a point on both curves), {MAX_CLASSES:,} classes, {MAX_BINS:,}
histogram bins, {MAX_BOXES:,} boxes in each detection list in at most {MAX_CATEGORIES:,}
categories, and a body of {_BODY_MB} MB. Each field's description gives its own limit. Over a
limit the answer is 422 or 400 and names the field.

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


@api.exception_handler(NinjaValidationError)
def schema_error(request: HttpRequest, exc: NinjaValidationError):
    detail = [
        {"loc": list(error.get("loc", [])), "msg": error.get("msg", "invalid value")}
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


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
