"""What the calculators return: plain JSON values, undefined ones as None with a reason."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_SHOWN_LABELS = 10


def list_labels(labels: Sequence, limit: int = _SHOWN_LABELS) -> str:
    """The first few labels for a warning, and how many more there are."""
    shown = ", ".join(str(label) for label in labels[:limit])
    more = len(labels) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def ratio_or_none(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None (undefined, never a silent 0) when dividing by 0."""
    return numerator / denominator if denominator else None


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


def calculation(function: Callable[..., dict]) -> Callable[..., dict]:
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
