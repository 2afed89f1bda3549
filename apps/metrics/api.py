"""JSON API for the calculators. Every endpoint is a POST that computes and changes nothing.

Errors have one shape, whoever finds them (the schema or the computation):
``{"detail": [{"loc": ["body", "<field>"], "msg": "<what is wrong>"}]}`` with 422 for a body
that does not fit the schema and 400 for values the computation refuses.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from apps.metrics import computations
from apps.metrics.computations import InputError

api = NinjaAPI(
    title="MLSD Handbook calculators",
    version="1",
    description="Metric computations that agree with scikit-learn and pycocotools.",
    urls_namespace="api",
)

Values = Annotated[list[float], Field(min_length=1, max_length=computations.MAX_VALUES)]
Labels = Annotated[list[int | str], Field(min_length=1, max_length=computations.MAX_VALUES)]
Rows = Annotated[list[list[float]], Field(min_length=1, max_length=computations.MAX_VALUES)]
Box = Annotated[list[float], Field(min_length=4, max_length=4)]


@api.exception_handler(InputError)
def input_error(request: HttpRequest, exc: InputError):
    return api.create_response(
        request, {"detail": [{"loc": ["body", exc.field], "msg": exc.message}]}, status=400
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError):
    # Ninja's own refusals (a body that is not JSON, say) in the same shape as ours.
    detail = [{"loc": ["body"], "msg": f"{exc}: send a JSON object in the request body."}]
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(NinjaValidationError)
def schema_error(request: HttpRequest, exc: NinjaValidationError):
    detail = [
        {"loc": list(error.get("loc", [])), "msg": error.get("msg", "invalid value")}
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


class BinaryIn(Schema):
    y_true: Values
    y_score: Values | None = None
    y_pred: Values | None = None
    threshold: float = 0.5
    beta: float = 1.0


class MulticlassIn(Schema):
    y_true: Labels
    y_pred: Labels


class RegressionIn(Schema):
    y_true: Values
    y_pred: Values
    n_features: int | None = None
    delta: float = 1.0


class RankingIn(Schema):
    y_true: Rows
    y_score: Rows
    k: int = 10


class IoUIn(Schema):
    box_a: Box
    box_b: Box


class GroundTruth(Schema):
    image_id: int
    category_id: int
    bbox: Box


class Detection(GroundTruth):
    score: float


class DetectionIn(Schema):
    ground_truths: Annotated[list[GroundTruth], Field(max_length=computations.MAX_BOXES)]
    detections: Annotated[list[Detection], Field(max_length=computations.MAX_BOXES)]


class SegmentationIn(Schema):
    y_true: Annotated[list[list[int]], Field(min_length=1)]
    y_pred: Annotated[list[list[int]], Field(min_length=1)]
    num_classes: int


class DiscountedReturnIn(Schema):
    rewards: Values
    gamma: float


class LatencyIn(Schema):
    samples_ms: Values
    bins: int = 20


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


for _name, (_schema, _summary) in ENDPOINTS.items():
    api.post(f"/calculators/{_name}", summary=_summary)(_endpoint(_name, _schema))
