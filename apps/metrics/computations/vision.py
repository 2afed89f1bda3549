"""Computer vision: IoU of two boxes, COCO detection mAP as pycocotools computes it, and
segmentation IoU."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    MAX_BOXES,
    MAX_CATEGORIES,
    MAX_CLASSES,
    MAX_VALUES,
    InputError,
    bounded_list,
    finite_number,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation, list_labels

# pycocotools' fixed bbox parameters: the "all" area range and 100 detections per image.
_COCO_AREA_ALL = (0.0, 1e5**2)
_COCO_MAX_DETS = 100
# Built exactly as pycocotools builds them so that float thresholds compare identically.
_COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
_COCO_RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def _box_corners(value: Any, field: str) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise InputError(
            field, f"must be a box [x1, y1, x2, y2] of four numbers, got {show_value(value)}"
        )
    x1, y1, x2, y2 = (finite_number(v, field, i) for i, v in enumerate(value, start=1))
    for low, high, axis in ((x1, x2, "x"), (y1, y2, "y")):
        if high < low:
            raise InputError(
                field,
                f"{axis}2 ({high:g}) is less than {axis}1 ({low:g}); boxes are [x1, y1, x2, y2] "
                "with x2 ≥ x1 and y2 ≥ y1",
            )
    return [x1, y1, x2, y2]


@calculation
def iou(box_a: Any, box_b: Any) -> dict:
    """Intersection over union of two boxes given as [x1, y1, x2, y2] corners.

    Coordinates are continuous, so a box's area is (x2 - x1)·(y2 - y1) with no +1. When both
    boxes have zero area the union is empty and ``iou`` is None with a warning.
    """
    ax1, ay1, ax2, ay2 = _box_corners(box_a, "box_a")
    bx1, by1, bx2, by2 = _box_corners(box_b, "box_b")
    width = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    height = max(0.0, min(ay2, by2) - max(ay1, by1))
    intersection = width * height
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - intersection
    warnings = []
    if union > 0:
        value = intersection / union
    else:
        value = None
        warnings.append("iou is undefined: both boxes have zero area, so their union is empty")
    return {"iou": value, "intersection": intersection, "union": union, "warnings": warnings}


def _annotations(value: Any, field: str, *, scored: bool) -> list[dict]:
    what = "detections" if scored else "ground-truth boxes"
    if not isinstance(value, list | tuple):
        raise InputError(field, f"must be a list of {what}, got {show_value(value)}")
    if not value and not scored:
        raise InputError(field, "is empty; give at least one ground-truth box")
    if len(value) > MAX_BOXES:
        raise InputError(field, f"has {len(value):,} {what}; at most {MAX_BOXES:,} are allowed")
    keys = ("image_id", "category_id", "bbox", *(("score",) if scored else ()))
    annotations = []
    for position, item in enumerate(value, start=1):
        where = f"item {position}"
        if not isinstance(item, dict):
            raise InputError(field, f"{where} is {show_value(item)}; each item is an object")
        missing = [key for key in keys if key not in item]
        if missing:
            raise InputError(
                field,
                f"{where} has no {', '.join(missing)}; each item needs {', '.join(keys)}, "
                "with bbox as [x, y, width, height]",
            )
        if item.get("iscrowd"):
            raise InputError(field, f"{where} is a crowd region (iscrowd); those are not supported")
        try:
            annotation = {
                "image_id": whole_number(item["image_id"], "image_id", minimum=0, meaning="an id"),
                "category_id": whole_number(
                    item["category_id"], "category_id", minimum=0, meaning="an id"
                ),
                "bbox": _coco_box(item["bbox"]),
                "score": finite_number(item["score"], "score") if scored else None,
            }
        except InputError as error:
            raise InputError(field, f"{where}: {error.field} {error.message}") from None
        annotations.append(annotation)
    return annotations


def _coco_box(value: Any) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise InputError("bbox", f"must be [x, y, width, height], got {show_value(value)}")
    x, y, width, height = (finite_number(v, "bbox") for v in value)
    if width < 0 or height < 0:
        raise InputError("bbox", f"has width {width:g} and height {height:g}; both must be ≥ 0")
    return [x, y, width, height]


def _coco_ious(detections: list[dict], truths: list[dict]) -> np.ndarray:
    # The arithmetic, operation by operation, of pycocotools' bbIou in maskApi.c, so that an
    # IoU landing exactly on a threshold is decided the same way.
    dx, dy, dw, dh = (column[:, None] for column in np.array([d["bbox"] for d in detections]).T)
    gx, gy, gw, gh = (column[None, :] for column in np.array([g["bbox"] for g in truths]).T)
    width = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    height = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    intersection = width * height
    ious = intersection / (dw * dh + gw * gh - intersection)
    return np.where((width > 0) & (height > 0), ious, 0.0)


def _outside_area(box: list[float]) -> bool:
    area = box[2] * box[3]
    return area < _COCO_AREA_ALL[0] or area > _COCO_AREA_ALL[1]


def _match_image(detections: list[dict], truths: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of one image and category, as pycocotools' ``evaluateImg``.

    Returns (matched, ignored), each thresholds x detections, for detections already sorted by
    descending score.
    """
    thresholds = _COCO_IOU_THRESHOLDS.size
    truth_ignored = np.array([_outside_area(t["bbox"]) for t in truths], dtype=bool)
    # pycocotools puts ignored ground truths last and prefers a regular match to an ignored one.
    truth_order = np.argsort(truth_ignored, kind="stable")
    truths = [truths[i] for i in truth_order]
    truth_ignored = truth_ignored[truth_order]
    matched = np.zeros((thresholds, len(detections)), dtype=bool)
    ignored = np.zeros((thresholds, len(detections)), dtype=bool)
    if truths and detections:
        ious = _coco_ious(detections, truths)
        taken = np.zeros((thresholds, len(truths)), dtype=bool)
        minimum = np.minimum(_COCO_IOU_THRESHOLDS, 1 - 1e-10)[:, None]
        last = len(truths) - 1
        for d in range(len(detections)):
            # Every threshold at once: thresholds x ground truths.
            candidates = ~taken & (ious[d] >= minimum)
            regular = candidates & ~truth_ignored
            pool = np.where(regular.any(axis=1, keepdims=True), regular, candidates)
            found = np.flatnonzero(pool.any(axis=1))
            # Among equal IoUs pycocotools keeps the last ground truth, hence the reversal.
            masked = np.where(pool[found], ious[d], -np.inf)
            g = last - np.argmax(masked[:, ::-1], axis=1)
            taken[found, g] = matched[found, d] = True
            ignored[found, d] = truth_ignored[g]
    outside = np.array([_outside_area(det["bbox"]) for det in detections], dtype=bool)
    ignored |= ~matched & outside
    return matched, ignored


def _category_precision(
    detections: dict[int, list[dict]], truths: dict[int, list[dict]]
) -> np.ndarray | None:
    """Interpolated precision (thresholds x recall points) of one category, as ``accumulate``.

    None when the category has no ground truth, which pycocotools marks with -1.
    """
    regular_truths = sum(
        1 for image_truths in truths.values() for t in image_truths if not _outside_area(t["bbox"])
    )
    if regular_truths == 0:
        return None
    scores, matched, ignored = [], [], []
    # pycocotools concatenates images in ascending id before its stable sort by score, which
    # decides the order of equal scores across images.
    for image in sorted(detections.keys() | truths.keys()):
        image_detections = detections.get(image, [])
        order = np.argsort([-d["score"] for d in image_detections], kind="stable")
        image_detections = [image_detections[i] for i in order[:_COCO_MAX_DETS]]
        image_matched, image_ignored = _match_image(image_detections, truths.get(image, []))
        scores.extend(d["score"] for d in image_detections)
        matched.append(image_matched)
        ignored.append(image_ignored)
    order = np.argsort(-np.array(scores, dtype=np.float64), kind="stable")
    matched = np.concatenate(matched, axis=1)[:, order]
    ignored = np.concatenate(ignored, axis=1)[:, order]
    true_positives = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
    false_positives = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)

    precision = np.zeros((_COCO_IOU_THRESHOLDS.size, _COCO_RECALL_POINTS.size))
    for t, (tp, fp) in enumerate(zip(true_positives, false_positives, strict=True)):
        if tp.size == 0:
            continue
        recall = tp / regular_truths
        precision_t = tp / (fp + tp + np.spacing(1))
        envelope = np.maximum.accumulate(precision_t[::-1])[::-1]
        positions = np.searchsorted(recall, _COCO_RECALL_POINTS, side="left")
        reachable = positions < tp.size
        precision[t, reachable] = envelope[positions[reachable]]
    return precision


@calculation
def detection(ground_truths: Any, detections: Any) -> dict:
    """COCO bbox mean average precision, computed as pycocotools' ``COCOeval`` does.

    Boxes are [x, y, width, height] with area width·height. Evaluation uses IoU thresholds
    0.50:0.05:0.95, 101 recall points, the "all" area range, at most 100 detections per image
    and category (highest scores first), and greedy matching in descending score order.
    Crowd regions are not supported. ``image_id`` and ``category_id`` are integers.

    The evaluated images are every image id in either list, so detections on an image without
    ground truth count as false positives. An empty ``detections`` list is allowed (AP 0).
    ``per_category`` covers every category in either list; a category without ground truth has
    AP None (pycocotools' -1) and is left out of ``map``, ``map_50`` and ``map_75``.
    """
    truths = _annotations(ground_truths, "ground_truths", scored=False)
    found = _annotations(detections, "detections", scored=True)

    def by_category_and_image(annotations: list[dict]) -> dict[int, dict[int, list[dict]]]:
        grouped: dict[int, dict[int, list[dict]]] = {}
        for annotation in annotations:
            images = grouped.setdefault(annotation["category_id"], {})
            images.setdefault(annotation["image_id"], []).append(annotation)
        return grouped

    truth_groups = by_category_and_image(truths)
    found_groups = by_category_and_image(found)
    categories = sorted(truth_groups.keys() | found_groups.keys())
    if len(categories) > MAX_CATEGORIES:
        field = "ground_truths" if len(truth_groups) > MAX_CATEGORIES else "detections"
        raise InputError(
            field,
            f"the boxes are in {len(categories):,} categories; at most {MAX_CATEGORIES:,} are "
            "allowed in one request",
        )

    warnings: list[str] = []
    per_category: dict[str, float | None] = {}
    evaluated = []
    for category in categories:
        precision = _category_precision(
            found_groups.get(category, {}), truth_groups.get(category, {})
        )
        if precision is None:
            per_category[str(category)] = None
        else:
            per_category[str(category)] = np.mean(precision)
            evaluated.append(precision)
    without_truth = [c for c in categories if per_category[str(c)] is None]
    if without_truth:
        warnings.append(
            f"AP is undefined for category(ies) {list_labels(without_truth)}: no ground-truth "
            "boxes within COCO's area range; they are left out of the mAP, as pycocotools does"
        )

    if not evaluated:
        warnings.append(
            "map, map_50 and map_75 are undefined: no category has a ground-truth box inside "
            "COCO's area range (up to 1e10 square units)"
        )
        return {
            "map": None,
            "map_50": None,
            "map_75": None,
            "per_category": per_category,
            "warnings": warnings,
        }
    precision = np.stack(evaluated, axis=1)
    fifty = int(np.flatnonzero(_COCO_IOU_THRESHOLDS == 0.5)[0])
    seventy_five = int(np.flatnonzero(_COCO_IOU_THRESHOLDS == 0.75)[0])
    return {
        "map": np.mean(precision),
        "map_50": np.mean(precision[fifty]),
        "map_75": np.mean(precision[seventy_five]),
        "per_category": per_category,
        "warnings": warnings,
    }


def _class_grid(value: Any, field: str, num_classes: int) -> np.ndarray:
    rows = bounded_list(value, field, limit=MAX_VALUES, what="rows of class ids")
    if set(map(type, rows)) == {list} and len(set(map(len, rows))) == 1 and rows[0]:
        if len(rows) * len(rows[0]) > MAX_VALUES:
            raise InputError(
                field, f"has more than {MAX_VALUES:,} pixels; at most that many are allowed"
            )
        cells = list(itertools.chain.from_iterable(rows))
        if set(map(type, cells)) == {int} and min(cells) >= 0 and max(cells) < num_classes:
            return np.array(cells, dtype=np.int64).reshape(len(rows), len(rows[0]))
    # Otherwise go cell by cell, to name the first one that is wrong.
    width = None
    cells: list[int] = []
    for r, row in enumerate(rows, start=1):
        if not isinstance(row, list | tuple) or not row:
            raise InputError(
                field,
                f"row {r} is {show_value(row) if row else 'empty'}; each row is a non-empty list "
                "of class ids",
            )
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise InputError(
                field,
                f"row {r} has {len(row)} values but row 1 has {width}; the mask must be a "
                "rectangle",
            )
        if len(cells) + len(row) > MAX_VALUES:
            raise InputError(
                field, f"has more than {MAX_VALUES:,} pixels; at most that many are allowed"
            )
        for c, cell in enumerate(row, start=1):
            try:
                cells.append(
                    whole_number(
                        cell,
                        field,
                        minimum=0,
                        maximum=num_classes - 1,
                        position=c,
                        meaning="a class id",
                    )
                )
            except InputError as error:
                raise InputError(field, f"row {r}: {error.message}") from None
    return np.array(cells, dtype=np.int64).reshape(len(rows), width)


@calculation
def segmentation(y_true: Any, y_pred: Any, num_classes: Any) -> dict:
    """Per-class IoU and mean IoU of two label masks.

    ``y_true`` and ``y_pred`` are equally shaped 2-D lists of class ids in [0, num_classes).
    A class absent from both masks has IoU None (0/0) with a warning, and ``miou`` averages
    the classes that are present. ``pixel_accuracy`` is the share of matching pixels.
    """
    num_classes = whole_number(num_classes, "num_classes", minimum=1, maximum=MAX_CLASSES)
    truth = _class_grid(y_true, "y_true", num_classes)
    predicted = _class_grid(y_pred, "y_pred", num_classes)
    if truth.shape != predicted.shape:
        raise InputError(
            "y_pred",
            f"y_true is {truth.shape[0]}x{truth.shape[1]} but y_pred is "
            f"{predicted.shape[0]}x{predicted.shape[1]}; the masks must have the same shape",
        )
    matrix = np.bincount(
        truth.ravel() * num_classes + predicted.ravel(), minlength=num_classes * num_classes
    ).reshape(num_classes, num_classes)
    intersection = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - intersection

    warnings: list[str] = []
    absent = [c for c in range(num_classes) if union[c] == 0]
    if absent:
        warnings.append(
            f"IoU is undefined for class(es) {list_labels(absent)}: absent from both masks; "
            "miou averages the classes that are present"
        )
    per_class = {
        str(c): (None if union[c] == 0 else intersection[c] / union[c]) for c in range(num_classes)
    }
    present = [value for value in per_class.values() if value is not None]
    return {
        "per_class_iou": per_class,
        "miou": np.mean(present),
        "pixel_accuracy": intersection.sum() / truth.size,
        "warnings": warnings,
    }
