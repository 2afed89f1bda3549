"""Regression error metrics, as scikit-learn and scipy compute them."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    InputError,
    finite_number,
    number_list,
    same_length,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation


@calculation
def regression(y_true: Any, y_pred: Any, n_features: Any = None, delta: Any = 1.0) -> dict:
    """Error metrics for real-valued predictions.

    ``huber`` is the mean Huber loss with threshold ``delta`` (0.5·r² when |r| ≤ delta, else
    delta·(|r| - 0.5·delta), r the residual). ``r2`` is None when ``y_true`` has zero variance
    (scikit-learn would report 1 or 0 there). ``adjusted_r2`` needs ``n_features``, the number
    of predictors, and is None with a warning without it or when n - n_features - 1 ≤ 0.
    """
    truth = number_list(y_true, "y_true")
    predicted = number_list(y_pred, "y_pred")
    same_length(truth, "y_true", predicted, "y_pred")
    if n_features is not None:
        n_features = whole_number(n_features, "n_features", minimum=0)
    delta = finite_number(delta, "delta")
    if delta <= 0:
        raise InputError(
            "delta", f"{show_value(delta)} is not allowed; delta must be greater than 0"
        )

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
