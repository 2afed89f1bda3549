"""Calibration of predicted probabilities: reliability bins and the expected calibration error as
scikit-learn's ``calibration_curve`` bins them, and the Brier score as ``brier_score_loss``."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    MAX_BINS,
    InputError,
    binary_labels,
    number_list,
    same_length,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation

BIN_STRATEGIES = ("uniform", "quantile")
"""How ``calibration`` cuts [0, 1] into bins: equal widths, or equal counts of predictions."""


def probabilities(value: Any, field: str) -> np.ndarray:
    """A list of probabilities, each in [0, 1], as a float64 array."""
    values = number_list(value, field)
    outside = np.flatnonzero((values < 0) | (values > 1))
    if outside.size:
        i = int(outside[0])
        raise InputError(
            field,
            f"{show_value(value[i])} (item {i + 1}) is not a probability; every value in "
            f"{field} must lie from 0 to 1",
        )
    return values


def _bin_edges(predicted: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    # Built as scikit-learn builds them, so that a prediction on an edge lands in the same bin.
    if strategy == "quantile":
        return np.percentile(predicted, np.linspace(0, 1, n_bins + 1) * 100)
    return np.linspace(0.0, 1.0, n_bins + 1)


@calculation
def calibration(y_true: Any, y_prob: Any, n_bins: Any = 10, strategy: Any = "uniform") -> dict:
    """How far predicted probabilities are from observed frequencies.

    The predictions are cut into ``n_bins`` bins of equal width (``strategy="uniform"``) or of
    about equal counts (``"quantile"``), exactly as ``sklearn.calibration.calibration_curve``
    cuts them: a prediction on an inner edge falls in the lower bin. ``bins`` lists the bins
    that hold a prediction, each with its edges, count, mean prediction and fraction of
    positives (scikit-learn's ``prob_pred`` and ``prob_true``), and the gap between the two.

    ``ece`` is the expected calibration error: the count-weighted mean of
    |fraction of positives - mean prediction| over the bins; ``mce`` is the largest of those
    gaps. Both are for the probability of class 1, as given. ``brier_score`` is the mean of
    (y_prob - y_true)², as ``brier_score_loss``; ``brier_skill_score`` is 1 - brier / (p̄(1 - p̄))
    with p̄ the fraction of positives, the improvement over always predicting the base rate,
    and None with a warning when ``y_true`` holds one class only.
    """
    actual = binary_labels(y_true, "y_true")
    predicted = probabilities(y_prob, "y_prob")
    same_length(actual, "y_true", predicted, "y_prob")
    n_bins = whole_number(n_bins, "n_bins", minimum=1, maximum=MAX_BINS)
    if strategy not in BIN_STRATEGIES:
        raise InputError(
            "strategy",
            f"{show_value(strategy)} is not allowed; strategy must be 'uniform' or 'quantile'",
        )

    edges = _bin_edges(predicted, n_bins, strategy)
    bin_of = np.searchsorted(edges[1:-1], predicted)
    counts = np.bincount(bin_of, minlength=n_bins)
    positives = np.bincount(bin_of, weights=actual, minlength=n_bins)
    prediction_sums = np.bincount(bin_of, weights=predicted, minlength=n_bins)
    filled = np.flatnonzero(counts)
    fraction_positive = positives[filled] / counts[filled]
    mean_predicted = prediction_sums[filled] / counts[filled]
    gaps = np.abs(fraction_positive - mean_predicted)

    n = actual.size
    brier = np.mean((predicted - actual) ** 2)
    base_rate = np.count_nonzero(actual) / n
    warnings: list[str] = []
    if 0 < base_rate < 1:
        brier_skill = 1 - brier / (base_rate * (1 - base_rate))
    else:
        brier_skill = None
        warnings.append(
            "brier_skill_score is undefined: y_true contains only one class, so always "
            "predicting the base rate is already perfect"
        )
    if filled.size == 1 and n_bins > 1:
        warnings.append(
            "every prediction fell in one bin, so ece only compares the overall mean "
            "prediction with the base rate; use more bins or the quantile strategy"
        )
    return {
        "ece": np.sum(counts[filled] / n * gaps),
        "mce": gaps.max(),
        "brier_score": brier,
        "brier_skill_score": brier_skill,
        "base_rate": base_rate,
        "mean_prediction": np.mean(predicted),
        "n": n,
        "n_bins": n_bins,
        "strategy": strategy,
        "bins": [
            {
                "lower": edges[i],
                "upper": edges[i + 1],
                "count": int(counts[i]),
                "mean_predicted": p,
                "fraction_positive": f,
                "gap": g,
            }
            for i, p, f, g in zip(
                filled.tolist(),
                mean_predicted.tolist(),
                fraction_positive.tolist(),
                gaps.tolist(),
                strict=True,
            )
        ],
        "warnings": warnings,
    }
