"""Product metrics: click-through, stickiness, retention and conversion rates."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    InputError,
    count_value,
    finite_number,
    number_list,
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


# --- Fraud, search, marketplace and ads ----------------------------------------------------------


def _money(value: Any, field: str) -> float:
    amount = finite_number(value, field)
    if amount < 0:
        raise InputError(field, f"{show_value(value)} is not allowed; {field} must be ≥ 0")
    return amount


@calculation
def fraud_loss_rate(
    fraud_losses: Any,
    payment_volume: Any,
    false_declines: Any = None,
    legitimate_attempts: Any = None,
) -> dict:
    """Fraud losses in basis points of payment volume, and the false-decline rate beside it.

    ``fraud_loss_bps`` is fraud_losses / payment_volume * 10,000, both in one currency over one
    period. ``false_decline_rate`` is the share of legitimate payment attempts that were
    declined; it needs both ``false_declines`` and ``legitimate_attempts``.
    """
    losses = _money(fraud_losses, "fraud_losses")
    volume = _money(payment_volume, "payment_volume")
    warnings = []
    if volume == 0:
        warnings.append("fraud_loss_bps is undefined: payment_volume is 0")
    rate = None
    if false_declines is not None or legitimate_attempts is not None:
        if false_declines is None or legitimate_attempts is None:
            missing = "false_declines" if false_declines is None else "legitimate_attempts"
            raise InputError(
                missing, "give both false_declines and legitimate_attempts, or neither"
            )
        declined, attempts = _share(
            false_declines, "false_declines", legitimate_attempts, "legitimate_attempts"
        )
        rate = ratio_or_none(declined, attempts)
        if rate is None:
            warnings.append("false_decline_rate is undefined: legitimate_attempts is 0")
    return {
        "fraud_loss_bps": losses / volume * 10_000 if volume else None,
        "fraud_loss_rate": ratio_or_none(losses, volume),
        "false_decline_rate": rate,
        "warnings": warnings,
    }


@calculation
def search_success(
    sessions: Any,
    successful_sessions: Any,
    searches: Any = None,
    zero_result_searches: Any = None,
) -> dict:
    """Search success rate per session, and the zero-result rate per search.

    A successful session is one the product's own rule counts as a success, such as ending in
    a click or purchase without a reformulated query; this calculator takes the counts.
    """
    successful, total = _share(successful_sessions, "successful_sessions", sessions, "sessions")
    warnings = [] if total else ["search_success_rate is undefined: there were no sessions"]
    zero_rate = None
    if searches is not None or zero_result_searches is not None:
        if searches is None or zero_result_searches is None:
            missing = "searches" if searches is None else "zero_result_searches"
            raise InputError(missing, "give both searches and zero_result_searches, or neither")
        empty, all_searches = _share(
            zero_result_searches, "zero_result_searches", searches, "searches"
        )
        zero_rate = ratio_or_none(empty, all_searches)
        if zero_rate is None:
            warnings.append("zero_result_rate is undefined: there were no searches")
    return {
        "search_success_rate": ratio_or_none(successful, total),
        "zero_result_rate": zero_rate,
        "warnings": warnings,
    }


@calculation
def gross_merchandise_value(order_values: Any, marketplace_revenue: Any = None) -> dict:
    """GMV as the sum of order values, the average order value, and the take rate.

    ``take_rate`` is ``marketplace_revenue`` (what the marketplace keeps: commissions, fees)
    divided by GMV, over the same orders.
    """
    values = number_list(order_values, "order_values")
    if values.min() < 0:
        i = int(np.argmin(values))
        raise InputError(
            "order_values",
            f"{show_value(order_values[i])} (item {i + 1}) is negative; an order's value is ≥ 0 "
            "(count refunds apart)",
        )
    gmv = np.sum(values)
    warnings = []
    take_rate = None
    if marketplace_revenue is not None:
        revenue = _money(marketplace_revenue, "marketplace_revenue")
        take_rate = ratio_or_none(revenue, gmv)
        if take_rate is None:
            warnings.append("take_rate is undefined: GMV is 0")
    return {
        "gmv": gmv,
        "orders": values.size,
        "average_order_value": np.mean(values),
        "take_rate": take_rate,
        "warnings": warnings,
    }


@calculation
def ecpm(revenue: Any, impressions: Any, clicks: Any = None) -> dict:
    """Effective revenue per thousand impressions: revenue / impressions * 1,000.

    With ``clicks``, also the click-through rate and revenue per click, whose product times
    1,000 is the eCPM again.
    """
    money = _money(revenue, "revenue")
    shown = count_value(impressions, "impressions")
    warnings = [] if shown else ["ecpm is undefined: there were no impressions"]
    result = {
        "ecpm": money / shown * 1000 if shown else None,
        "ctr": None,
        "revenue_per_click": None,
        "warnings": warnings,
    }
    if clicks is not None:
        clicked, _ = _share(clicks, "clicks", shown, "impressions")
        result["ctr"] = ratio_or_none(clicked, shown)
        result["revenue_per_click"] = ratio_or_none(money, clicked)
        if not clicked:
            warnings.append("revenue_per_click is undefined: there were no clicks")
    return result
