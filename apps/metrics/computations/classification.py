"""Binary and multiclass classification metrics, as scikit-learn computes them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    MAX_CLASSES,
    MAX_SCORES,
    MAX_VALUES,
    InputError,
    binary_labels,
    bounded_list,
    class_labels,
    finite_floats,
    finite_number,
    number_list,
    same_length,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation, list_labels, ratio_or_none
from apps.metrics.computations.product import _share as share


@calculation
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
    actual = binary_labels(y_true, "y_true")
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
    beta = finite_number(beta, "beta")
    if beta <= 0:
        raise InputError("beta", f"{show_value(beta)} is not allowed; beta must be greater than 0")

    warnings: list[str] = []
    scores = None
    if y_score is not None:
        scores = number_list(y_score, "y_score", limit=MAX_SCORES)
        same_length(actual, "y_true", scores, "y_score")
        threshold = finite_number(threshold, "threshold")
        predicted = scores >= threshold
    else:
        predicted = binary_labels(y_pred, "y_pred")
        same_length(actual, "y_true", predicted, "y_pred")
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
    precision = ratio_or_none(tp, predicted_positive)
    if precision is None:
        warnings.append("precision is undefined: nothing was predicted positive (tp + fp = 0)")
    recall = ratio_or_none(tp, actual_positive)
    if recall is None:
        warnings.append("recall is undefined: y_true has no positive examples (tp + fn = 0)")
    specificity = ratio_or_none(tn, actual_negative)
    if specificity is None:
        warnings.append("specificity is undefined: y_true has no negative examples (tn + fp = 0)")

    # The F-score formula below stays defined when precision alone is undefined (it is then
    # 0, as scikit-learn computes it); only with no positives anywhere is it 0/0.
    beta2 = beta * beta
    f1 = ratio_or_none(2 * tp, actual_positive + predicted_positive)
    f_beta = ratio_or_none((1 + beta2) * tp, beta2 * actual_positive + predicted_positive)
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


@calculation
def multiclass_classification(y_true: Any, y_pred: Any) -> dict:
    """Accuracy, per-class precision/recall/F1 and their macro, micro and weighted averages.

    Labels are integers or strings (one kind for both lists); ``labels`` is the sorted union of
    both lists and orders ``per_class`` and ``confusion_matrix`` (rows true, columns predicted).

    A class that was never predicted has precision None, and a class that never occurs in
    ``y_true`` has recall None, each with a warning. The averages count those as 0, which is
    scikit-learn's ``zero_division=0.0``, so the averages match scikit-learn exactly; per-class
    F1 is always defined because every listed class occurs in one of the two lists.
    """
    truth = class_labels(y_true, "y_true")
    predicted = class_labels(y_pred, "y_pred")
    same_length(truth, "y_true", predicted, "y_pred")
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
            f"precision is undefined for class(es) {list_labels(never_predicted)}: never "
            "predicted; the macro and weighted averages count it as 0 (scikit-learn's "
            "zero_division=0)"
        )
    never_true = [label for label, count in zip(labels, support, strict=True) if count == 0]
    if never_true:
        warnings.append(
            f"recall is undefined for class(es) {list_labels(never_true)}: absent from y_true; "
            "the macro average counts it as 0 (scikit-learn's zero_division=0)"
        )

    per_class = {}
    precisions, recalls, f1s = [], [], []
    for i, label in enumerate(labels):
        tp_i, support_i, predicted_i = int(tp[i]), int(support[i]), int(predicted_count[i])
        precision = ratio_or_none(tp_i, predicted_i)
        recall = ratio_or_none(tp_i, support_i)
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


# --- Top-k accuracy, operating points and prevalence -------------------------------------------


def _score_rows(value: Any, field: str) -> np.ndarray:
    """Per-example lists of class scores, all of one length from 2 to MAX_CLASSES, as a matrix."""
    rows = bounded_list(value, field, limit=MAX_VALUES, what="rows of class scores")
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, list | tuple):
            raise InputError(
                field, f"row {position} is {show_value(row)}; each row is a list of class scores"
            )
    width = len(rows[0])
    if not 2 <= width <= MAX_CLASSES:
        raise InputError(
            field, f"row 1 has {width:,} scores; give one score per class, 2 to {MAX_CLASSES:,}"
        )
    uneven = next((i for i, row in enumerate(rows, start=1) if len(row) != width), None)
    if uneven is not None:
        raise InputError(
            field,
            f"row {uneven} has {len(rows[uneven - 1]):,} scores but row 1 has {width:,}; every "
            "row needs one score per class",
        )
    if len(rows) * width > MAX_VALUES:
        raise InputError(
            field, f"has {len(rows) * width:,} scores in all; at most {MAX_VALUES:,} are allowed"
        )
    try:
        return finite_floats([score for row in rows for score in row], field).reshape(-1, width)
    except InputError:
        pass
    for position, row in enumerate(rows, start=1):
        try:
            finite_floats(row, field)
        except InputError as error:
            raise InputError(field, f"row {position}: {error.message}") from None
    raise AssertionError("unreachable: some row holds the bad value")


@calculation
def top_k_accuracy(y_true: Any, y_score: Any, k: Any = 5) -> dict:
    """Share of examples whose true class is among the ``k`` classes scored highest.

    ``y_true`` holds class indices 0 … C - 1, the columns of ``y_score``, which has a row of C
    scores per example. Tied scores rank the class with the higher index first, as
    scikit-learn's ``top_k_accuracy_score`` does. ``by_k`` gives the accuracy for every k from
    1 to C, and ``rank`` would be the place of the true class (1 is first) in each example.
    """
    scores = _score_rows(y_score, "y_score")
    n, n_classes = scores.shape
    truth = number_list(y_true, "y_true", limit=MAX_VALUES)
    same_length(truth, "y_true", scores, "y_score")
    bad = np.flatnonzero((truth != np.round(truth)) | (truth < 0) | (truth >= n_classes))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            "y_true",
            f"{show_value(y_true[i])} (item {i + 1}) is not a class index; y_true holds the "
            f"column of the true class, a whole number from 0 to {n_classes - 1}",
        )
    k = whole_number(k, "k", minimum=1)
    true_class = truth.astype(np.int64)
    true_score = scores[np.arange(n), true_class][:, None]
    later = np.arange(n_classes)[None, :] > true_class[:, None]
    ahead = np.count_nonzero((scores > true_score) | ((scores == true_score) & later), axis=1)
    by_k = np.cumsum(np.bincount(ahead, minlength=n_classes)) / n
    warnings = []
    if k >= n_classes:
        warnings.append(
            f"k = {k} is not below the number of classes ({n_classes}), so every example is a "
            "hit and top_k_accuracy is 1 by construction"
        )
    return {
        "top_k_accuracy": by_k[min(k, n_classes) - 1],
        "k": k,
        "hits": int(np.count_nonzero(ahead < k)),
        "n": n,
        "classes": n_classes,
        "by_k": by_k,
        "warnings": warnings,
    }


def _fraction(value: Any, field: str, *, above_zero: bool = False) -> float:
    """``value`` as a rate from 0 to 1, or above 0 and at most 1 with ``above_zero``."""
    number = finite_number(value, field)
    if not 0 <= number <= 1 or (above_zero and number == 0):
        span = "above 0 and at most 1" if above_zero else "from 0 to 1"
        raise InputError(field, f"{show_value(value)} is not allowed; {field} must be {span}")
    return number


@calculation
def operating_point(
    y_true: Any, y_score: Any, target_recall: Any = 0.9, target_precision: Any = 0.9
) -> dict:
    """The best threshold under a constraint, read off scikit-learn's curves.

    ``precision_at_recall``: the highest precision of any threshold whose recall is at least
    ``target_recall``; ``recall_at_precision``: the highest recall of any threshold whose
    precision is at least ``target_precision``; ``fpr_at_recall``: the lowest false-positive
    rate of any threshold whose recall (true-positive rate) is at least ``target_recall``. The
    thresholds are the distinct scores, as in ``precision_recall_curve`` and ``roc_curve``; a
    score at or above the threshold is positive. Each comes with its threshold and the other
    rate at that threshold; a tie goes to the point with the higher recall.

    A constraint no threshold meets gives None and a warning, as does ``y_true`` with one class.
    """
    target_recall = _fraction(target_recall, "target_recall", above_zero=True)
    target_precision = _fraction(target_precision, "target_precision", above_zero=True)
    curves = binary_classification(y_true, y_score=y_score)
    result: dict[str, Any] = {
        name: {"value": None, **dict.fromkeys(_POINT_KEYS)}
        for name in ("precision_at_recall", "recall_at_precision", "fpr_at_recall")
    }
    result.update(
        {
            "target_recall": target_recall,
            "target_precision": target_precision,
            "roc_auc": curves["roc_auc"],
            "average_precision": curves["average_precision"],
            "positives": curves["tp"] + curves["fn"],
            "negatives": curves["tn"] + curves["fp"],
            "warnings": [],
        }
    )
    if curves["pr_curve"] is None:
        result["warnings"].append(
            "the operating points are undefined: y_true contains only one class, so recall or "
            "the false-positive rate has no denominator"
        )
        return result

    # The last precision-recall point and the first ROC point are the curves' ends, not
    # thresholds; every other point is one distinct score.
    fpr_at = {p["threshold"]: p["fpr"] for p in curves["roc_curve"][1:]}
    points = [{**p, "fpr": fpr_at[p["threshold"]]} for p in curves["pr_curve"][:-1]]

    def best(name: str, key: str, allowed: list[dict], sign: int, condition: str) -> None:
        if not allowed:
            result["warnings"].append(f"{name} is undefined: no threshold reaches {condition}")
            return
        point = max(allowed, key=lambda p: (sign * p[key], p["recall"]))
        result[name] = {"value": point[key], **{k: point[k] for k in _POINT_KEYS}}

    reaching_recall = [p for p in points if p["recall"] >= target_recall]
    best("precision_at_recall", "precision", reaching_recall, 1, f"recall {target_recall:g}")
    best("fpr_at_recall", "fpr", reaching_recall, -1, f"recall {target_recall:g}")
    reaching_precision = [p for p in points if p["precision"] >= target_precision]
    best("recall_at_precision", "recall", reaching_precision, 1, f"precision {target_precision:g}")
    return result


_POINT_KEYS = ("threshold", "recall", "precision", "fpr")


@calculation
def prevalence(positives: Any, total: Any, recall: Any = None, specificity: Any = None) -> dict:
    """Share of positives in a population, and what it does to a classifier's alarms.

    Given the ``recall`` (sensitivity) and ``specificity`` of a classifier, Bayes' rule gives
    the ``precision`` (positive predictive value) and ``npv`` (negative predictive value) it
    will have at this prevalence, the share of the population it flags, and the false alarms
    per true positive, (1 - precision) / precision.
    """
    positives, total = share(positives, "positives", total, "total")
    sensitivity = None if recall is None else _fraction(recall, "recall")
    true_negative_rate = None if specificity is None else _fraction(specificity, "specificity")
    warnings: list[str] = []
    result: dict[str, Any] = {
        "positives": positives,
        "negatives": total - positives,
        "total": total,
        "prevalence": ratio_or_none(positives, total),
        "one_in": ratio_or_none(total, positives),
        **dict.fromkeys(_ALARM_KEYS),
        "warnings": warnings,
    }
    if total == 0:
        warnings.append("prevalence is undefined: total is 0")
        return result
    if positives == 0:
        warnings.append("one_in is undefined: there are no positives")
    if sensitivity is None or true_negative_rate is None:
        warnings.append(
            "precision, npv and the flag rate need both the recall and the specificity of a "
            "classifier"
        )
        return result
    rate = positives / total
    true_positive, false_negative = sensitivity * rate, (1 - sensitivity) * rate
    true_negative = true_negative_rate * (1 - rate)
    false_positive = (1 - true_negative_rate) * (1 - rate)
    result.update(
        precision=ratio_or_none(true_positive, true_positive + false_positive),
        npv=ratio_or_none(true_negative, true_negative + false_negative),
        predicted_positive_rate=true_positive + false_positive,
        false_alarms_per_true_positive=ratio_or_none(false_positive, true_positive),
    )
    if result["precision"] is None:
        warnings.append("precision is undefined: the classifier would flag nothing")
    elif result["false_alarms_per_true_positive"] is None:
        warnings.append("false_alarms_per_true_positive is undefined: no true positives")
    if result["npv"] is None:
        warnings.append("npv is undefined: the classifier would flag everything")
    return result


_ALARM_KEYS = ("precision", "npv", "predicted_positive_rate", "false_alarms_per_true_positive")
