"""Serving and systems: latency percentiles, throughput and energy."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    MAX_BINS,
    InputError,
    count_value,
    finite_number,
    number_list,
    show_value,
    whole_number,
)
from apps.metrics.computations.outputs import calculation, ratio_or_none


def _positive_duration(value: Any, field: str) -> float:
    seconds = finite_number(value, field)
    if seconds <= 0:
        raise InputError(
            field, f"{show_value(value)} is not allowed; {field} must be above 0 seconds"
        )
    return seconds


@calculation
def latency(samples_ms: Any, bins: Any = 20) -> dict:
    """Summary statistics and a histogram of latency samples in milliseconds.

    Percentiles use numpy's default linear interpolation; the histogram is ``numpy.histogram``
    with ``bins`` equal-width bins over the sample range.
    """
    samples = number_list(samples_ms, "samples_ms")
    if samples.min() < 0:
        i = int(np.argmin(samples))
        raise InputError(
            "samples_ms",
            f"{show_value(samples_ms[i])} (item {i + 1}) is negative; latencies must be ≥ 0 ms",
        )
    bins = whole_number(bins, "bins", minimum=1, maximum=MAX_BINS)
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


@calculation
def throughput(requests: Any, duration_s: Any) -> dict:
    """Requests served per second."""
    count = count_value(requests, "requests")
    seconds = _positive_duration(duration_s, "duration_s")
    return {"throughput_rps": count / seconds, "warnings": []}


@calculation
def energy(power_w: Any, duration_s: Any, requests: Any = None) -> dict:
    """Energy drawn at a constant average power, in joules and watt-hours, and per request."""
    watts = finite_number(power_w, "power_w")
    if watts < 0:
        raise InputError(
            "power_w", f"{show_value(power_w)} is not allowed; power_w must be ≥ 0 watts"
        )
    seconds = _positive_duration(duration_s, "duration_s")
    joules = watts * seconds
    warnings = []
    per_request = None
    if requests is not None:
        count = count_value(requests, "requests")
        per_request = ratio_or_none(joules, count)
        if per_request is None:
            warnings.append("energy_per_request_j is undefined: requests is 0")
    return {
        "energy_j": joules,
        "energy_wh": joules / 3600,
        "energy_per_request_j": per_request,
        "warnings": warnings,
    }
