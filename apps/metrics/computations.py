"""Metric computations shared by the HTML calculators and the JSON API.

Pure Python and numpy: no Django, and no scikit-learn or pycocotools (the tests use those two as
oracles, so the numbers here must agree with them to 1e-9).

Conventions every calculator follows:

* Inputs are validated here, because they may arrive straight from JSON. A bad value raises
  :class:`InputError` naming the field and saying what is wrong and what is allowed.
* Every result is a dict of plain Python values (floats, ints, strings, lists, dicts, None) that
  ``json.dumps`` accepts, with a ``"warnings"`` list of sentences.
* A metric that is undefined for the given data is ``None`` and a warning says why. It is never
  a silent 0 and never an exception. Where scikit-learn would substitute a number (0 for MCC,
  1 or 0 for R² of a constant target), we report None instead and say so.
* A value that overflows 64-bit floating point is reported as None with a warning too, so the
  JSON never contains NaN or Infinity.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

# Size limits. Each is sized so that the largest input it allows is computed and answered as
# JSON in about a quarter of a second of one core (measured on the 2-core development machine,
# through the API). The API documents them in its schema; the HTML calculators take less,
# because their pages show a row or a point per item (see forms.py).
MAX_VALUES = 100_000
"""Most values accepted in one list; nested lists (queries, mask rows) count all they hold."""
MAX_SCORES = 20_000
"""Most scores for binary classification: each distinct score is a point on both curves."""
MAX_BOXES = 2_000
"""Most boxes accepted in each detection list (matching is greedy, box by box)."""
MAX_CATEGORIES = 100
"""Most distinct categories in a detection request (each is matched and averaged apart)."""
MAX_CLASSES = 1_000
"""Most distinct classes; a confusion matrix has the square of this many cells."""
MAX_BINS = 1_000
"""Most histogram bins for the latency calculator."""
MAX_COUNT = 10**15
"""Largest count accepted; beyond it the arithmetic would stop being exact."""

_SHOWN_LABELS = 10

# pycocotools' fixed bbox parameters: the "all" area range and 100 detections per image.
_COCO_AREA_ALL = (0.0, 1e5**2)
_COCO_MAX_DETS = 100
# Built exactly as pycocotools builds them so that float thresholds compare identically.
_COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
_COCO_RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


class InputError(ValueError):
    """A value a person supplied is not acceptable.

    ``field`` names the input (the form field or JSON key) and ``message`` says what is wrong
    with it and what is allowed, in words that can be shown next to the field.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- Parsing pasted text -------------------------------------------------------------------

# Separators are commas, semicolons and white space, in any mix; a token is what lies between.
_TOKEN = re.compile(r"[^,;\s]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _tokens(text: str, field: str, limit: int) -> list[str]:
    if not isinstance(text, str):
        raise InputError(field, f"must be text, got {_show(text)}")
    tokens = []
    # Token by token, so that megabytes of pasted text stop at the limit instead of being
    # split in full first.
    for match in _TOKEN.finditer(text):
        # Spreadsheets quote cells when copying; the quotes are not part of the value.
        token = match.group().strip("\"'")
        if not token:
            continue
        if len(tokens) == limit:
            raise InputError(
                field, f"has more than {limit:,} values; at most {limit:,} are allowed"
            )
        tokens.append(token)
    if not tokens:
        raise InputError(
            field,
            "is empty; paste at least one value, separated by commas, spaces, tabs, "
            "semicolons or new lines",
        )
    return tokens


def parse_numbers(text: str, field: str, limit: int = MAX_VALUES) -> list[float]:
    """Read pasted numbers, such as a column copied from a spreadsheet.

    Values may be separated by commas, spaces, tabs, semicolons or new lines, in any mix, so
    CSV rows and columns both work. A comma is always a separator: ``0,5`` is two numbers, not
    a decimal comma. Raises :class:`InputError` for the first token that is not a finite number,
    giving the token and its 1-based position, for empty input and for more than ``limit``
    values.
    """
    numbers = []
    for position, token in enumerate(_tokens(text, field, limit), start=1):
        where = f"'{_shorten(token)}' (item {position})"
        if token.lower() in _NON_FINITE:
            raise InputError(
                field, f"{where} is not a finite number; NaN and infinity are not allowed"
            )
        if not _NUMBER.fullmatch(token):
            raise InputError(
                field,
                f"{where} is not a number; use numbers such as 12, -0.5 or 1e-3, "
                "separated by commas, spaces, tabs, semicolons or new lines",
            )
        value = float(token)
        if not math.isfinite(value):
            raise InputError(field, f"{where} is too large; numbers must be below 1.8e308")
        numbers.append(value)
    return numbers


def parse_labels(text: str, field: str, limit: int = MAX_VALUES) -> list[str | int]:
    """Read pasted class labels, separated like :func:`parse_numbers`.

    The labels are ints when every token is a whole number, so that ``1`` and ``01`` are the
    same class; otherwise every label is kept as the string that was typed.
    """
    tokens = _tokens(text, field, limit)
    if all(_INTEGER.fullmatch(token) for token in tokens):
        return [int(token) for token in tokens]
    return tokens


# --- Validating values that may come straight from JSON -----------------------------------


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: Any) -> str:
    """Describe a rejected value in the words of JSON, since that is what API users sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{_shorten(value)}'"
    if isinstance(value, Real):
        return _shorten(repr(value))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _at(position: int | None) -> str:
    return "" if position is None else f" (item {position})"


def _float(value: Any, field: str, position: int | None = None) -> float:
    # bool is an int subclass, but true/false in a list of numbers is a mistake, not 1/0.
    # Plain ints and floats skip the isinstance checks, which are slow for an ABC like Real.
    if type(value) not in (int, float) and (isinstance(value, bool) or not isinstance(value, Real)):
        raise InputError(field, f"{_show(value)}{_at(position)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(
            field, f"{_show(value)}{_at(position)} is too large; numbers must be below 1.8e308"
        ) from None
    if not math.isfinite(number):
        raise InputError(
            field,
            f"{_show(value)}{_at(position)} is not a finite number; "
            "NaN and infinity are not allowed",
        )
    return number


def _whole(
    value: Any,
    field: str,
    *,
    minimum: int,
    maximum: int = MAX_COUNT,
    position: int | None = None,
    meaning: str = "a whole number",
) -> int:
    number = _float(value, field, position)
    if not number.is_integer() or not minimum <= number <= maximum:
        raise InputError(
            field,
            f"{_show(value)}{_at(position)} is not allowed; {field} must be {meaning} "
            f"from {minimum:,} to {maximum:,}",
        )
    return int(value) if isinstance(value, Integral) else int(number)


def _count(value: Any, field: str) -> int:
    return _whole(value, field, minimum=0, meaning="a count (a whole number)")


def _list(value: Any, field: str, *, limit: int, what: str) -> Sequence:
    if not isinstance(value, list | tuple):
        raise InputError(field, f"must be a list of {what}, got {_show(value)}")
    if not value:
        raise InputError(field, f"is empty; give at least one of the {what}")
    if len(value) > limit:
        raise InputError(field, f"has {len(value):,} {what}; at most {limit:,} are allowed")
    return value


def _finite_floats(items: Sequence, field: str) -> np.ndarray:
    """``items`` as a float64 array, or InputError naming the first item that is not a number.

    Plain ints and floats (what JSON gives) are converted in one numpy call; anything else, or
    a value numpy refuses, goes through :func:`_float` item by item for the message.
    """
    if set(map(type, items)) <= {int, float}:
        try:
            array = np.array(items, dtype=np.float64)
        except OverflowError:  # an int beyond float64: _float names it below
            pass
        else:
            if np.isfinite(array).all():
                return array
    return np.array([_float(item, field, i) for i, item in enumerate(items, start=1)])


def _numbers(value: Any, field: str, limit: int = MAX_VALUES) -> np.ndarray:
    items = _list(value, field, limit=limit, what="numbers")
    return _finite_floats(items, field)


def _binary_labels(value: Any, field: str) -> np.ndarray:
    labels = _numbers(value, field)
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            field,
            f"{_show(value[i])} (item {i + 1}) is not a binary label; "
            f"{field} may contain only 0 and 1",
        )
    return labels == 1


def _class_labels(value: Any, field: str) -> list[int | str]:
    items = _list(value, field, limit=MAX_VALUES, what="labels")
    kinds = set(map(type, items))
    if kinds == {str} and all(items):
        return list(items)
    if kinds == {int} and min(items) >= -MAX_COUNT and max(items) <= MAX_COUNT:
        return list(items)
    labels: list[int | str] = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, str) and item:
            labels.append(item)
        elif (
            isinstance(item, Real)
            and not isinstance(item, bool)
            and _float(item, field, position).is_integer()
            and abs(item) <= MAX_COUNT
        ):
            labels.append(int(item))
        else:
            raise InputError(
                field,
                f"{_show(item)}{_at(position)} is not a label; labels are integers or "
                "non-empty strings",
            )
    kinds = {type(label) for label in labels}
    if len(kinds) > 1:
        first_text = next(i for i, label in enumerate(labels, start=1) if isinstance(label, str))
        raise InputError(
            field,
            f"mixes numbers and text (item {first_text} is {_show(labels[first_text - 1])}); "
            "use integers for every label or text for every label",
        )
    return labels


def _same_length(
    first: Sequence | np.ndarray,
    first_field: str,
    second: Sequence | np.ndarray,
    second_field: str,
) -> None:
    if len(first) != len(second):
        raise InputError(
            second_field,
            f"{first_field} has {len(first):,} values but {second_field} has {len(second):,}; "
            "they must have the same length",
        )


def _list_labels(labels: Sequence, limit: int = _SHOWN_LABELS) -> str:
    shown = ", ".join(str(label) for label in labels[:limit])
    more = len(labels) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- Making results JSON-ready -------------------------------------------------------------


def _plain(value: Any, unrepresentable: list[int]) -> Any:
    """Convert numpy values to Python ones; NaN and infinity become None and are counted.

    Results may hold 100,000-point curves, so the common cases come first and whole lists of
    plain numbers are checked with map() rather than value by value.
    """
    if type(value) is float:
        if math.isfinite(value):
            return value
        unrepresentable[0] += 1
        return None
    if isinstance(value, dict):
        return {key: _plain(item, unrepresentable) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()  # Python numbers, converted in C
    if isinstance(value, list | tuple):
        kinds = set(map(type, value))
        if (kinds == {float} and all(map(math.isfinite, value))) or kinds <= {int, str}:
            return list(value)
        return [_plain(item, unrepresentable) for item in value]
    if isinstance(value, np.generic | float):
        return _plain(float(value) if isinstance(value, float) else value.item(), unrepresentable)
    return value


def _calculation(function: Callable[..., dict]) -> Callable[..., dict]:
    """Run a calculator with numpy's float warnings silenced and return plain JSON values.

    Overflow is reported as None plus a warning in the result instead of a RuntimeWarning in
    the server log, which nobody who typed the numbers would see.
    """

    @functools.wraps(function)
    def calculate(*args: Any, **kwargs: Any) -> dict:
        with np.errstate(all="ignore"):
            result = function(*args, **kwargs)
        warnings = result.pop("warnings")
        plain = {}
        for key, value in result.items():
            unrepresentable = [0]
            plain[key] = _plain(value, unrepresentable)
            if unrepresentable[0]:
                warnings.append(
                    f"{key} could not be computed in 64-bit floating point (the inputs are too "
                    "large or too extreme) and is shown as null"
                )
        plain["warnings"] = list(warnings)
        return plain

    return calculate


# --- Classification --------------------------------------------------------------------------


@_calculation
def binary_classification(
    y_true: Any,
    y_score: Any = None,
    y_pred: Any = None,
    threshold: Any = 0.5,
    beta: Any = 1.0,
) -> dict:
    """Confusion counts and the metrics built on them, plus ranking metrics when scores are given.

    Give exactly one of ``y_score`` (a real-valued score per example; predicted positive when
    ``score >= threshold``) or ``y_pred`` (0/1 predictions). ``y_true`` holds 0/1 labels. There
    may be at most MAX_SCORES scores, since each distinct score is a point on both curves.

    Scores may lie outside [0, 1] (decision-function values, logits), so ``threshold`` may be any
    finite number; ``log_loss`` is then None with a warning, as it needs probabilities. It uses
    scikit-learn's current definition: natural log, mean over examples, probabilities clipped to
    [eps, 1 - eps] with eps the float64 machine epsilon. ``roc_auc``, ``average_precision`` and
    both curves follow scikit-learn (``roc_curve(drop_intermediate=False)``,
    ``precision_recall_curve``, ``average_precision_score``), except that the first ROC point's
    threshold is None rather than infinity. With ``y_pred`` those five keys are None.

    Undefined values are None with a warning: precision without predicted positives, recall
    without actual positives, specificity without actual negatives, F-scores when there are
    no positives at all, MCC when a row or column of the confusion matrix is empty, balanced
    accuracy and the ranking metrics when ``y_true`` holds one class only.
    """
    actual = _binary_labels(y_true, "y_true")
    if y_score is None and y_pred is None:
        raise InputError(
            "y_score", "give y_score (a score per example) or y_pred (a 0/1 prediction per example)"
        )
    if y_score is not None and y_pred is not None:
        raise InputError(
            "y_pred",
            "give either y_score or y_pred, not both; with y_score the predictions come from "
            "the threshold",
        )
    beta = _float(beta, "beta")
    if beta <= 0:
        raise InputError("beta", f"{_show(beta)} is not allowed; beta must be greater than 0")

    warnings: list[str] = []
    scores = None
    if y_score is not None:
        scores = _numbers(y_score, "y_score", limit=MAX_SCORES)
        _same_length(actual, "y_true", scores, "y_score")
        threshold = _float(threshold, "threshold")
        predicted = scores >= threshold
    else:
        predicted = _binary_labels(y_pred, "y_pred")
        _same_length(actual, "y_true", predicted, "y_pred")
        threshold = None

    tp = int(np.count_nonzero(actual & predicted))
    fp = int(np.count_nonzero(~actual & predicted))
    tn = int(np.count_nonzero(~actual & ~predicted))
    fn = int(np.count_nonzero(actual & ~predicted))
    result = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    result.update(_confusion_metrics(tp, fp, tn, fn, beta, warnings))
    result["beta"] = beta
    result["threshold"] = threshold
    if scores is None:
        result.update(dict.fromkeys(_SCORE_KEYS))
        warnings.append(
            "roc_auc, average_precision, log_loss and the ROC and precision-recall curves "
            "need scores (y_score); 0/1 predictions (y_pred) cannot rank examples"
        )
    else:
        result.update(_score_metrics(actual, scores, warnings))
    result["warnings"] = warnings
    return result


_SCORE_KEYS = ("roc_auc", "average_precision", "log_loss", "roc_curve", "pr_curve")


def _confusion_metrics(tp: int, fp: int, tn: int, fn: int, beta: float, warnings: list) -> dict:
    predicted_positive, actual_positive = tp + fp, tp + fn
    predicted_negative, actual_negative = tn + fn, tn + fp
    precision = _ratio(tp, predicted_positive)
    if precision is None:
        warnings.append("precision is undefined: nothing was predicted positive (tp + fp = 0)")
    recall = _ratio(tp, actual_positive)
    if recall is None:
        warnings.append("recall is undefined: y_true has no positive examples (tp + fn = 0)")
    specificity = _ratio(tn, actual_negative)
    if specificity is None:
        warnings.append("specificity is undefined: y_true has no negative examples (tn + fp = 0)")

    # The F-score formula below stays defined when precision alone is undefined (it is then
    # 0, as scikit-learn computes it); only with no positives anywhere is it 0/0.
    beta2 = beta * beta
    f1 = _ratio(2 * tp, actual_positive + predicted_positive)
    f_beta = _ratio((1 + beta2) * tp, beta2 * actual_positive + predicted_positive)
    if f1 is None:
        warnings.append(
            "f1 and f_beta are undefined: there are no positives in y_true or in the "
            "predictions (tp + fp + fn = 0)"
        )

    empty = [
        name
        for name, total in (
            ("actual positives", actual_positive),
            ("actual negatives", actual_negative),
            ("predicted positives", predicted_positive),
            ("predicted negatives", predicted_negative),
        )
        if total == 0
    ]
    if empty:
        mcc = None
        warnings.append(
            "mcc is undefined: the confusion matrix has an empty row or column (no "
            f"{' and no '.join(empty)}); scikit-learn reports 0 here"
        )
    else:
        # Exact integer products up to the square root keep MCC accurate for large counts.
        denominator = predicted_positive * actual_positive * actual_negative * predicted_negative
        mcc = (tp * tn - fp * fn) / math.sqrt(denominator)

    if recall is None or specificity is None:
        balanced_accuracy = None
        warnings.append(
            "balanced_accuracy is undefined: y_true contains only one class, so recall or "
            "specificity is missing"
        )
    else:
        balanced_accuracy = (recall + specificity) / 2

    return {
        "accuracy": (tp + tn) / (tp + fp + tn + fn),
        "precision": precision,
        "recall": recall,
        "specificity": specificity,
        "f1": f1,
        "f_beta": f_beta,
        "mcc": mcc,
        "balanced_accuracy": balanced_accuracy,
    }


def _score_metrics(actual: np.ndarray, scores: np.ndarray, warnings: list) -> dict:
    result: dict[str, Any] = {}
    if scores.min() >= 0 and scores.max() <= 1:
        eps = np.finfo(np.float64).eps
        probability_of_truth = np.where(actual, scores, 1 - scores)
        result["log_loss"] = -np.mean(np.log(np.clip(probability_of_truth, eps, 1 - eps)))
    else:
        result["log_loss"] = None
        warnings.append(
            "log_loss needs probabilities in [0, 1]; y_score has values from "
            f"{scores.min():g} to {scores.max():g}"
        )

    positives = int(np.count_nonzero(actual))
    if positives in (0, actual.size):
        only = "1" if positives else "0"
        result.update(roc_auc=None, average_precision=None, roc_curve=None, pr_curve=None)
        warnings.append(
            "roc_auc, average_precision and the ROC and precision-recall curves are undefined: "
            f"y_true contains only one class (every label is {only})"
        )
        return result

    # As scikit-learn: one point per distinct score, taken at the last example of each tie.
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), scores.size - 1]
    tps = np.cumsum(actual[order])[last_of_tie].astype(np.float64)
    fps = 1 + last_of_tie - tps
    thresholds = sorted_scores[last_of_tie]

    fpr = np.r_[0.0, fps] / fps[-1]
    tpr = np.r_[0.0, tps] / tps[-1]
    result["roc_auc"] = np.trapezoid(tpr, fpr)
    result["roc_curve"] = [
        {"fpr": f, "tpr": t, "threshold": h}
        for f, t, h in zip(fpr.tolist(), tpr.tolist(), [None, *thresholds.tolist()], strict=True)
    ]

    precision = np.r_[(tps / (tps + fps))[::-1], 1.0]
    recall = np.r_[(tps / tps[-1])[::-1], 0.0]
    result["average_precision"] = max(0.0, float(-np.sum(np.diff(recall) * precision[:-1])))
    result["pr_curve"] = [
        {"recall": r, "precision": p, "threshold": h}
        for r, p, h in zip(
            recall.tolist(), precision.tolist(), [*thresholds[::-1].tolist(), None], strict=True
        )
    ]
    return result


@_calculation
def multiclass_classification(y_true: Any, y_pred: Any) -> dict:
    """Accuracy, per-class precision/recall/F1 and their macro, micro and weighted averages.

    Labels are integers or strings (one kind for both lists); ``labels`` is the sorted union of
    both lists and orders ``per_class`` and ``confusion_matrix`` (rows true, columns predicted).

    A class that was never predicted has precision None, and a class that never occurs in
    ``y_true`` has recall None, each with a warning. The averages count those as 0, which is
    scikit-learn's ``zero_division=0.0``, so the averages match scikit-learn exactly; per-class
    F1 is always defined because every listed class occurs in one of the two lists.
    """
    truth = _class_labels(y_true, "y_true")
    predicted = _class_labels(y_pred, "y_pred")
    _same_length(truth, "y_true", predicted, "y_pred")
    if type(truth[0]) is not type(predicted[0]):
        raise InputError(
            "y_pred",
            f"y_true holds {_label_kind(truth[0])} but y_pred holds {_label_kind(predicted[0])}; "
            "use the same kind of label in both",
        )
    labels = sorted(set(truth) | set(predicted))
    if len(labels) > MAX_CLASSES:
        raise InputError(
            "y_true", f"has {len(labels):,} distinct classes; at most {MAX_CLASSES:,} are allowed"
        )

    index = {label: i for i, label in enumerate(labels)}
    true_index = np.array([index[label] for label in truth])
    predicted_index = np.array([index[label] for label in predicted])
    size = len(labels)
    matrix = np.bincount(true_index * size + predicted_index, minlength=size * size)
    matrix = matrix.reshape(size, size)
    tp = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)

    warnings: list[str] = []
    never_predicted = [
        label for label, count in zip(labels, predicted_count, strict=True) if count == 0
    ]
    if never_predicted:
        warnings.append(
            f"precision is undefined for class(es) {_list_labels(never_predicted)}: never "
            "predicted; the macro and weighted averages count it as 0 (scikit-learn's "
            "zero_division=0)"
        )
    never_true = [label for label, count in zip(labels, support, strict=True) if count == 0]
    if never_true:
        warnings.append(
            f"recall is undefined for class(es) {_list_labels(never_true)}: absent from y_true; "
            "the macro average counts it as 0 (scikit-learn's zero_division=0)"
        )

    per_class = {}
    precisions, recalls, f1s = [], [], []
    for i, label in enumerate(labels):
        tp_i, support_i, predicted_i = int(tp[i]), int(support[i]), int(predicted_count[i])
        precision = _ratio(tp_i, predicted_i)
        recall = _ratio(tp_i, support_i)
        f1 = 2 * tp_i / (support_i + predicted_i)
        per_class[str(label)] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support_i,
        }
        precisions.append(precision or 0.0)
        recalls.append(recall or 0.0)
        f1s.append(f1)

    n = len(truth)
    accuracy = int(tp.sum()) / n

    def averages(weights: np.ndarray | None) -> dict:
        return {
            name: np.average(values, weights=weights)
            for name, values in (("precision", precisions), ("recall", recalls), ("f1", f1s))
        }

    return {
        "labels": labels,
        "accuracy": accuracy,
        "per_class": per_class,
        "macro": averages(None),
        # With one label per example, pooled counts make all three equal to accuracy.
        "micro": {"precision": accuracy, "recall": accuracy, "f1": accuracy},
        "weighted": averages(support),
        "confusion_matrix": matrix.tolist(),
        "warnings": warnings,
    }


def _label_kind(label: int | str) -> str:
    return "text labels" if isinstance(label, str) else "integer labels"


# --- Regression ------------------------------------------------------------------------------


@_calculation
def regression(y_true: Any, y_pred: Any, n_features: Any = None, delta: Any = 1.0) -> dict:
    """Error metrics for real-valued predictions.

    ``huber`` is the mean Huber loss with threshold ``delta`` (0.5·r² when |r| ≤ delta, else
    delta·(|r| - 0.5·delta), r the residual). ``r2`` is None when ``y_true`` has zero variance
    (scikit-learn would report 1 or 0 there). ``adjusted_r2`` needs ``n_features``, the number
    of predictors, and is None with a warning without it or when n - n_features - 1 ≤ 0.
    """
    truth = _numbers(y_true, "y_true")
    predicted = _numbers(y_pred, "y_pred")
    _same_length(truth, "y_true", predicted, "y_pred")
    if n_features is not None:
        n_features = _whole(n_features, "n_features", minimum=0)
    delta = _float(delta, "delta")
    if delta <= 0:
        raise InputError("delta", f"{_show(delta)} is not allowed; delta must be greater than 0")

    warnings: list[str] = []
    n = truth.size
    residual = truth - predicted
    squared = residual**2
    mse = np.average(squared)
    absolute = np.abs(residual)
    huber = np.where(absolute <= delta, 0.5 * squared, delta * (absolute - 0.5 * delta))

    r2 = None
    if np.ptp(truth) > 0:
        total = np.sum((truth - np.average(truth)) ** 2)
        if total > 0:
            r2 = 1 - np.sum(squared) / total
    if r2 is None:
        warnings.append(
            "r2 is undefined: y_true has zero variance (all values are equal), so there is no "
            "variation to explain"
        )

    adjusted_r2 = None
    if n_features is None:
        warnings.append("adjusted_r2 needs n_features, the number of predictors in the model")
    elif n - n_features - 1 <= 0:
        warnings.append(
            "adjusted_r2 is undefined: it needs n - n_features - 1 > 0, but "
            f"{n} - {n_features} - 1 = {n - n_features - 1}"
        )
    elif r2 is not None:
        adjusted_r2 = 1 - (1 - r2) * (n - 1) / (n - n_features - 1)

    return {
        "mse": mse,
        "rmse": np.sqrt(mse),
        "mae": np.average(absolute),
        "r2": r2,
        "adjusted_r2": adjusted_r2,
        "huber": np.average(huber),
        "n": n,
        "warnings": warnings,
    }


# --- Ranking ---------------------------------------------------------------------------------


def _queries(value: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-query lists of numbers as one flat float64 array and the length of each query."""
    queries = _list(value, field, limit=MAX_VALUES, what="queries (lists of numbers)")
    # Checked with map() first: a loop in Python costs as much as the ranking itself.
    if not set(map(type, queries)) <= {list, tuple} or not all(queries):
        for q, query in enumerate(queries, start=1):
            if not isinstance(query, list | tuple) or not query:
                raise InputError(
                    field,
                    f"query {q} is {_show(query) if query else 'empty'}; each query must be a "
                    "non-empty list of numbers",
                )
    lengths = np.fromiter(map(len, queries), dtype=np.int64, count=len(queries))
    if lengths.sum() > MAX_VALUES:
        raise InputError(
            field, f"has more than {MAX_VALUES:,} values in all; at most that many are allowed"
        )
    try:
        return _finite_floats(list(itertools.chain.from_iterable(queries)), field), lengths
    except InputError:
        pass
    # Say which query, and the position within it, that holds the first bad value.
    for q, query in enumerate(queries, start=1):
        try:
            _finite_floats(query, field)
        except InputError as error:
            raise InputError(field, f"query {q}: {error.message}") from None
    raise AssertionError("unreachable: some query holds the bad value")


def _ranking_per_query(
    grades: np.ndarray, scores: np.ndarray, lengths: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Every metric of every query at once, on the queries laid end to end.

    Sorting by (query, descending score) keeps each query's items together, so a per-query sum
    is ``np.add.reduceat`` at the query starts. Queries without a relevant item get NaN or inf,
    which the caller leaves out.
    """
    n = grades.size
    starts = np.cumsum(lengths) - lengths
    query = np.repeat(np.arange(lengths.size), lengths)
    # Queries are laid out in order and sorting keeps them so: rank i of a query sits at
    # starts[query] + i both before and after sorting.
    position = np.arange(n) - starts[query]
    discount = np.where(position < k, 1 / (np.log(position + 2) / np.log(2)), 0.0)

    relevant = grades > 0
    n_relevant = np.add.reduceat(relevant, starts, dtype=np.int64)
    # Descending score; lexsort is stable, so tied scores keep their input order.
    order = np.lexsort((-scores, query))
    ranked_grades, ranked_scores, ranked_relevant = grades[order], scores[order], relevant[order]

    hits = ranked_relevant & (position < k)
    hits_cumulative = np.cumsum(hits)
    hits_before = np.r_[0, hits_cumulative][starts]
    hits_within = hits_cumulative - hits_before[query]
    hits_per_query = np.add.reduceat(hits, starts, dtype=np.int64)
    precision_at_i = np.where(hits, hits_within / (position + 1), 0.0)
    first_relevant = np.minimum.reduceat(np.where(ranked_relevant, position, n), starts)

    # NDCG with tied scores sharing the average gain of their group: the expectation over every
    # order in which the ties could be broken (McSherry & Najork 2008), as scikit-learn does.
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (query[1:] != query[:-1]) | (ranked_scores[1:] != ranked_scores[:-1])
    group_starts = np.flatnonzero(new_group)
    group_size = np.diff(np.r_[group_starts, n])
    group_gain = np.add.reduceat(ranked_grades, group_starts) / group_size
    group_discount = np.add.reduceat(discount, group_starts)
    dcg = np.bincount(
        query[group_starts], weights=group_gain * group_discount, minlength=lengths.size
    )
    ideal_grades = grades[np.lexsort((-grades, query))]
    ideal = np.add.reduceat(discount * ideal_grades, starts)

    return {
        "ndcg_at_k": dcg / ideal,
        "precision_at_k": hits_per_query / k,
        "recall_at_k": hits_per_query / n_relevant,
        "mrr": 1 / (first_relevant + 1),
        "map_at_k": np.add.reduceat(precision_at_i, starts) / np.minimum(k, n_relevant),
        "evaluated": n_relevant > 0,
    }


@_calculation
def ranking(y_true: Any, y_score: Any, k: Any) -> dict:
    """Top-k ranking metrics averaged over queries.

    ``y_true`` and ``y_score`` are lists of per-query lists: graded relevance (≥ 0; an item is
    relevant when its grade is above 0) and the model's scores. ``ndcg_at_k`` is scikit-learn's
    ``ndcg_score(k=k)``: gain = grade, log2 discount, tied scores averaged. The other metrics
    rank by descending score with ties kept in input order: ``precision_at_k`` (relevant in the
    top k / k, so a query shorter than k counts the missing places as misses),
    ``recall_at_k``, ``mrr`` (1 / rank of the first relevant item in the whole ranking) and
    ``map_at_k`` (Σ_{i≤k} P@i·rel_i / min(k, number relevant)).

    A query with no relevant item has no recall, no reciprocal rank and no average precision,
    and its NDCG is 0/0. Such queries are left out of every average (scikit-learn would count
    their NDCG as 0) and a warning says how many; ``queries_evaluated`` is the number kept.
    When no query has a relevant item, every metric is None.
    """
    grades, lengths = _queries(y_true, "y_true")
    scores, score_lengths = _queries(y_score, "y_score")
    if lengths.size != score_lengths.size:
        raise InputError(
            "y_score",
            f"the number of queries differs: y_true has {lengths.size:,}, y_score has "
            f"{score_lengths.size:,}; they must match",
        )
    differ = np.flatnonzero(lengths != score_lengths)
    if differ.size:
        q = int(differ[0])
        raise InputError(
            "y_score",
            f"query {q + 1} has {lengths[q]} grades in y_true but {score_lengths[q]} "
            "scores in y_score; they must have the same length",
        )
    negative = np.flatnonzero(grades < 0)
    if negative.size:
        ends = np.cumsum(lengths)
        q = int(np.searchsorted(ends, negative[0], side="right"))
        lowest = grades[ends[q] - lengths[q] : ends[q]].min()
        raise InputError(
            "y_true", f"query {q + 1} has the grade {lowest:g}; relevance grades must be ≥ 0"
        )
    k = _whole(k, "k", minimum=1)

    per_query = _ranking_per_query(grades, scores, lengths, k)
    evaluated = per_query.pop("evaluated")
    queries_evaluated = int(np.count_nonzero(evaluated))
    warnings: list[str] = []
    skipped = lengths.size - queries_evaluated
    if skipped:
        warnings.append(
            f"{skipped} of {lengths.size} queries have no relevant item (every grade is 0); "
            "recall, reciprocal rank, average precision and NDCG are undefined for them, so "
            "they are left out of every average"
        )
    if lengths.min() < k:
        warnings.append(
            f"some queries have fewer than k = {k} items; precision_at_k still divides by k"
        )
    result: dict[str, Any] = {
        name: (np.mean(values[evaluated]) if queries_evaluated else None)
        for name, values in per_query.items()
    }
    result.update(k=k, queries_evaluated=queries_evaluated, warnings=warnings)
    return result


# --- Computer vision -------------------------------------------------------------------------


def _box_corners(value: Any, field: str) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise InputError(
            field, f"must be a box [x1, y1, x2, y2] of four numbers, got {_show(value)}"
        )
    x1, y1, x2, y2 = (_float(v, field, i) for i, v in enumerate(value, start=1))
    for low, high, axis in ((x1, x2, "x"), (y1, y2, "y")):
        if high < low:
            raise InputError(
                field,
                f"{axis}2 ({high:g}) is less than {axis}1 ({low:g}); boxes are [x1, y1, x2, y2] "
                "with x2 ≥ x1 and y2 ≥ y1",
            )
    return [x1, y1, x2, y2]


@_calculation
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
        raise InputError(field, f"must be a list of {what}, got {_show(value)}")
    if not value and not scored:
        raise InputError(field, "is empty; give at least one ground-truth box")
    if len(value) > MAX_BOXES:
        raise InputError(field, f"has {len(value):,} {what}; at most {MAX_BOXES:,} are allowed")
    keys = ("image_id", "category_id", "bbox", *(("score",) if scored else ()))
    annotations = []
    for position, item in enumerate(value, start=1):
        where = f"item {position}"
        if not isinstance(item, dict):
            raise InputError(field, f"{where} is {_show(item)}; each item is an object")
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
                "image_id": _whole(item["image_id"], "image_id", minimum=0, meaning="an id"),
                "category_id": _whole(
                    item["category_id"], "category_id", minimum=0, meaning="an id"
                ),
                "bbox": _coco_box(item["bbox"]),
                "score": _float(item["score"], "score") if scored else None,
            }
        except InputError as error:
            raise InputError(field, f"{where}: {error.field} {error.message}") from None
        annotations.append(annotation)
    return annotations


def _coco_box(value: Any) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise InputError("bbox", f"must be [x, y, width, height], got {_show(value)}")
    x, y, width, height = (_float(v, "bbox") for v in value)
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


@_calculation
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
            f"AP is undefined for category(ies) {_list_labels(without_truth)}: no ground-truth "
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
    rows = _list(value, field, limit=MAX_VALUES, what="rows of class ids")
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
                f"row {r} is {_show(row) if row else 'empty'}; each row is a non-empty list "
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
                    _whole(
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


@_calculation
def segmentation(y_true: Any, y_pred: Any, num_classes: Any) -> dict:
    """Per-class IoU and mean IoU of two label masks.

    ``y_true`` and ``y_pred`` are equally shaped 2-D lists of class ids in [0, num_classes).
    A class absent from both masks has IoU None (0/0) with a warning, and ``miou`` averages
    the classes that are present. ``pixel_accuracy`` is the share of matching pixels.
    """
    num_classes = _whole(num_classes, "num_classes", minimum=1, maximum=MAX_CLASSES)
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
            f"IoU is undefined for class(es) {_list_labels(absent)}: absent from both masks; "
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


# --- Reinforcement learning ------------------------------------------------------------------


@_calculation
def discounted_return(rewards: Any, gamma: Any) -> dict:
    """Discounted return G_t = r_t + gamma·G_{t+1} for every step t, and the undiscounted total."""
    values = _numbers(rewards, "rewards").tolist()
    gamma = _float(gamma, "gamma")
    if not 0 <= gamma <= 1:
        raise InputError("gamma", f"{_show(gamma)} is not allowed; gamma must be from 0 to 1")
    returns = [0.0] * len(values)
    following = 0.0
    for t in range(len(values) - 1, -1, -1):
        following = values[t] + gamma * following
        returns[t] = following
    return {"returns": returns, "total": np.sum(values), "gamma": gamma, "warnings": []}


# --- Serving and systems ---------------------------------------------------------------------


def _positive_duration(value: Any, field: str) -> float:
    seconds = _float(value, field)
    if seconds <= 0:
        raise InputError(field, f"{_show(value)} is not allowed; {field} must be above 0 seconds")
    return seconds


@_calculation
def latency(samples_ms: Any, bins: Any = 20) -> dict:
    """Summary statistics and a histogram of latency samples in milliseconds.

    Percentiles use numpy's default linear interpolation; the histogram is ``numpy.histogram``
    with ``bins`` equal-width bins over the sample range.
    """
    samples = _numbers(samples_ms, "samples_ms")
    if samples.min() < 0:
        i = int(np.argmin(samples))
        raise InputError(
            "samples_ms",
            f"{_show(samples_ms[i])} (item {i + 1}) is negative; latencies must be ≥ 0 ms",
        )
    bins = _whole(bins, "bins", minimum=1, maximum=MAX_BINS)
    warnings = []
    p50, p90, p95, p99 = np.percentile(samples, [50, 90, 95, 99])
    try:
        counts, edges = np.histogram(samples, bins=bins)
        histogram = {"edges": edges, "counts": counts}
    except ValueError:
        # numpy refuses when the bins would be narrower than float spacing at these values.
        histogram = None
        warnings.append(
            f"histogram is unavailable: the samples are too close together to split into {bins} "
            "bins; use fewer bins"
        )
    return {
        "count": samples.size,
        "mean": np.mean(samples),
        "p50": p50,
        "p90": p90,
        "p95": p95,
        "p99": p99,
        "max": samples.max(),
        "min": samples.min(),
        "histogram": histogram,
        "warnings": warnings,
    }


@_calculation
def throughput(requests: Any, duration_s: Any) -> dict:
    """Requests served per second."""
    count = _count(requests, "requests")
    seconds = _positive_duration(duration_s, "duration_s")
    return {"throughput_rps": count / seconds, "warnings": []}


@_calculation
def energy(power_w: Any, duration_s: Any, requests: Any = None) -> dict:
    """Energy drawn at a constant average power, in joules and watt-hours, and per request."""
    watts = _float(power_w, "power_w")
    if watts < 0:
        raise InputError("power_w", f"{_show(power_w)} is not allowed; power_w must be ≥ 0 watts")
    seconds = _positive_duration(duration_s, "duration_s")
    joules = watts * seconds
    warnings = []
    per_request = None
    if requests is not None:
        count = _count(requests, "requests")
        per_request = _ratio(joules, count)
        if per_request is None:
            warnings.append("energy_per_request_j is undefined: requests is 0")
    return {
        "energy_j": joules,
        "energy_wh": joules / 3600,
        "energy_per_request_j": per_request,
        "warnings": warnings,
    }


# --- Product metrics -------------------------------------------------------------------------


def _share(part: Any, part_field: str, whole: Any, whole_field: str) -> tuple[int, int]:
    part_count = _count(part, part_field)
    whole_count = _count(whole, whole_field)
    if part_count > whole_count:
        raise InputError(
            part_field,
            f"{part_count:,} is more than {whole_field} ({whole_count:,}); {part_field} must not "
            f"exceed {whole_field}",
        )
    return part_count, whole_count


@_calculation
def ctr(clicks: Any, impressions: Any) -> dict:
    """Click-through rate: clicks / impressions."""
    clicks, impressions = _share(clicks, "clicks", impressions, "impressions")
    warnings = [] if impressions else ["ctr is undefined: there were no impressions"]
    return {"ctr": _ratio(clicks, impressions), "warnings": warnings}


@_calculation
def dau_mau(dau: Any, mau: Any) -> dict:
    """Stickiness: average daily active users / monthly active users.

    ``dau`` may be fractional because it is usually an average over the month's days; ``mau``
    is a count, and ``dau`` may not exceed it.
    """
    daily = _float(dau, "dau")
    if daily < 0:
        raise InputError("dau", f"{_show(dau)} is not allowed; dau must be ≥ 0")
    monthly = _count(mau, "mau")
    if daily > monthly:
        raise InputError(
            "dau",
            f"{daily:g} is more than mau ({monthly:,}); daily users are a subset of monthly users",
        )
    warnings = [] if monthly else ["stickiness is undefined: mau is 0 (no monthly active users)"]
    return {"stickiness": _ratio(daily, monthly), "warnings": warnings}


@_calculation
def retention(cohort_size: Any, retained: Any) -> dict:
    """Share of a cohort still active: retained / cohort_size."""
    retained, cohort_size = _share(retained, "retained", cohort_size, "cohort_size")
    warnings = [] if cohort_size else ["retention is undefined: the cohort is empty"]
    return {"retention": _ratio(retained, cohort_size), "warnings": warnings}


@_calculation
def conversion_rate(conversions: Any, visitors: Any) -> dict:
    """Share of visitors who converted: conversions / visitors."""
    conversions, visitors = _share(conversions, "conversions", visitors, "visitors")
    warnings = [] if visitors else ["conversion_rate is undefined: there were no visitors"]
    return {"conversion_rate": _ratio(conversions, visitors), "warnings": warnings}


CALCULATORS: dict[str, Callable[..., dict]] = {
    "binary-classification": binary_classification,
    "multiclass-classification": multiclass_classification,
    "regression": regression,
    "ranking": ranking,
    "iou": iou,
    "detection": detection,
    "segmentation": segmentation,
    "discounted-return": discounted_return,
    "latency": latency,
    "throughput": throughput,
    "energy": energy,
    "ctr": ctr,
    "dau-mau": dau_mau,
    "retention": retention,
    "conversion-rate": conversion_rate,
}
"""Every calculator by the slug used in URLs and the API."""
