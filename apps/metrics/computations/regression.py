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


# --- Forecasting: percentage errors and quantile (pinball) loss --------------------------------


def _paired(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = number_list(y_true, "y_true")
    predicted = number_list(y_pred, "y_pred")
    same_length(truth, "y_true", predicted, "y_pred")
    return truth, predicted


@calculation
def percentage_errors(y_true: Any, y_pred: Any) -> dict:
    """Scale-free forecast errors: MAPE, sMAPE and WAPE, with MAE beside them.

    ``mape`` is the mean of |y - ŷ| / |y|, a fraction (0.05 is 5 %), as scikit-learn's
    ``mean_absolute_percentage_error``, which divides by max(|y|, machine epsilon). A true
    value of exactly 0 makes it None with a warning, where scikit-learn would divide by epsilon
    and report a huge number. ``smape`` is the mean of 2|y - ŷ| / (|y| + |ŷ|), from 0 to 2; a
    pair where both are 0 is a perfect forecast and counts as 0. ``wape`` is Σ|y - ŷ| / Σ|y|,
    None when every true value is 0.
    """
    truth, predicted = _paired(y_true, y_pred)
    warnings: list[str] = []
    absolute = np.abs(truth - predicted)
    scale = np.abs(truth)
    zeros = int(np.count_nonzero(scale == 0))
    if zeros:
        mape = None
        warnings.append(
            f"mape is undefined: {zeros} true value(s) are 0, and a percentage of 0 has no "
            "meaning (scikit-learn divides by machine epsilon there); read wape instead"
        )
    else:
        mape = np.average(absolute / np.maximum(scale, np.finfo(np.float64).eps))
    both = scale + np.abs(predicted)
    both_zero = int(np.count_nonzero(both == 0))
    if both_zero:
        warnings.append(
            f"{both_zero} pair(s) have a true and a predicted value of 0: a perfect forecast, "
            "counted as 0 in smape"
        )
    symmetric = np.divide(2 * absolute, both, out=np.zeros_like(absolute), where=both > 0)
    total = np.sum(scale)
    if total == 0:
        warnings.append("wape is undefined: every true value is 0")
    return {
        "mape": mape,
        "smape": np.average(symmetric),
        "wape": np.sum(absolute) / total if total else None,
        "mae": np.average(absolute),
        "n": truth.size,
        "zero_actuals": zeros,
        "warnings": warnings,
    }


@calculation
def pinball_loss(y_true: Any, y_pred: Any, alpha: Any = 0.5) -> dict:
    """Mean pinball (quantile) loss of forecasts of the ``alpha`` quantile.

    An under-forecast by r costs alpha·r and an over-forecast by r costs (1 - alpha)·r, as
    scikit-learn's ``mean_pinball_loss``; at alpha = 0.5 it is half the MAE. ``share_below``
    is the share of true values at or below the forecast, which should be near alpha for a
    calibrated quantile forecast.
    """
    truth, predicted = _paired(y_true, y_pred)
    alpha = finite_number(alpha, "alpha")
    if not 0 <= alpha <= 1:
        raise InputError(
            "alpha", f"{show_value(alpha)} is not allowed; alpha is a quantile, from 0 to 1"
        )
    residual = truth - predicted
    loss = np.where(residual >= 0, alpha * residual, (alpha - 1) * residual)
    return {
        "pinball_loss": np.average(loss),
        "alpha": alpha,
        "share_below": np.count_nonzero(truth <= predicted) / truth.size,
        "n": truth.size,
        "warnings": [],
    }
