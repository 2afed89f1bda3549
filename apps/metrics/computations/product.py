"""Product metrics: click-through, stickiness, retention and conversion rates."""

from __future__ import annotations

from typing import Any

from apps.metrics.computations.inputs import (
    InputError,
    count_value,
    finite_number,
    show_value,
)
from apps.metrics.computations.outputs import calculation, ratio_or_none


def _share(part: Any, part_field: str, whole: Any, whole_field: str) -> tuple[int, int]:
    part_count = count_value(part, part_field)
    whole_count = count_value(whole, whole_field)
    if part_count > whole_count:
        raise InputError(
            part_field,
            f"{part_count:,} is more than {whole_field} ({whole_count:,}); {part_field} must not "
            f"exceed {whole_field}",
        )
    return part_count, whole_count


@calculation
def ctr(clicks: Any, impressions: Any) -> dict:
    """Click-through rate: clicks / impressions."""
    clicks, impressions = _share(clicks, "clicks", impressions, "impressions")
    warnings = [] if impressions else ["ctr is undefined: there were no impressions"]
    return {"ctr": ratio_or_none(clicks, impressions), "warnings": warnings}


@calculation
def dau_mau(dau: Any, mau: Any) -> dict:
    """Stickiness: average daily active users / monthly active users.

    ``dau`` may be fractional because it is usually an average over the month's days; ``mau``
    is a count, and ``dau`` may not exceed it.
    """
    daily = finite_number(dau, "dau")
    if daily < 0:
        raise InputError("dau", f"{show_value(dau)} is not allowed; dau must be ≥ 0")
    monthly = count_value(mau, "mau")
    if daily > monthly:
        raise InputError(
            "dau",
            f"{daily:g} is more than mau ({monthly:,}); daily users are a subset of monthly users",
        )
    warnings = [] if monthly else ["stickiness is undefined: mau is 0 (no monthly active users)"]
    return {"stickiness": ratio_or_none(daily, monthly), "warnings": warnings}


@calculation
def retention(cohort_size: Any, retained: Any) -> dict:
    """Share of a cohort still active: retained / cohort_size."""
    retained, cohort_size = _share(retained, "retained", cohort_size, "cohort_size")
    warnings = [] if cohort_size else ["retention is undefined: the cohort is empty"]
    return {"retention": ratio_or_none(retained, cohort_size), "warnings": warnings}


@calculation
def conversion_rate(conversions: Any, visitors: Any) -> dict:
    """Share of visitors who converted: conversions / visitors."""
    conversions, visitors = _share(conversions, "conversions", visitors, "visitors")
    warnings = [] if visitors else ["conversion_rate is undefined: there were no visitors"]
    return {"conversion_rate": ratio_or_none(conversions, visitors), "warnings": warnings}
