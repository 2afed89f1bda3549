"""How an estimate's result is shown: which values, in what words, and numbers for people.

Numbers get three significant figures below 1,000 and whole numbers with thousands separators
above; durations, sizes and bit rates pick the unit that reads best (43.2 min, 36.5 TB,
800 Mbit/s), with the site's decimal units (1 KB = 1,000 bytes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict

from apps.estimates.forms import FORMS

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def figure(value: float) -> str:
    """8.77, 43.2, 2,315, 259,200; a power of ten (1.23 x 10^15) when very large or small."""
    if value == 0:
        return "0"
    if not 1e-3 <= abs(value) < 1e15:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{float(mantissa):g} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"
    rounded = float(f"{value:.3g}")
    if abs(rounded) >= 1000:
        return f"{value:,.0f}"
    return f"{rounded:g}"


def whole(value: float) -> str:
    return f"{value:,.0f}" if abs(value) < 1e15 else figure(value)


def percent(value: float) -> str:
    return f"{figure(value)}%"


def availability(value: float) -> str:
    """Enough decimals to show where the nines stop: 99.7%, 99.99%, 99.9999999%."""
    missing = 100 - value
    if missing <= 0:
        return "100%"
    decimals = min(12, max(2, 1 - math.floor(math.log10(missing))))
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _scaled(value: float, steps: list[tuple[float, str]]) -> str:
    """``value`` in the largest unit it fills at least once; ``steps`` run small to large."""
    size, unit = steps[0]
    for step_size, step_unit in steps:
        if abs(value) >= step_size:
            size, unit = step_size, step_unit
    return f"{figure(value / size)} {unit}"


def duration(seconds: float) -> str:
    """86.4 s, 43.2 min, 8.77 h, 7.27 days: hours up to 100, as the availability page does."""
    if seconds == 0:
        return "0 s"
    if abs(seconds) < 1:
        return f"{figure(seconds * 1000)} ms"
    if abs(seconds) < 60:
        return f"{figure(seconds)} s"
    if abs(seconds) < 3600:
        return f"{figure(seconds / 60)} min"
    if abs(seconds) < 100 * 3600:
        return f"{figure(seconds / 3600)} h"
    return f"{figure(seconds / 86_400)} days"


BYTE_UNITS = [(1, "B"), (1e3, "KB"), (1e6, "MB"), (1e9, "GB"), (1e12, "TB"), (1e15, "PB"),
              (1e18, "EB")]  # fmt: skip
BIT_RATE_UNITS = [(1, "bit/s"), (1e3, "kbit/s"), (1e6, "Mbit/s"), (1e9, "Gbit/s"),
                  (1e12, "Tbit/s")]  # fmt: skip


def size(count: float) -> str:
    return _scaled(count, BYTE_UNITS)


def byte_rate(count: float) -> str:
    return f"{size(count)}/s"


def bit_rate(count: float) -> str:
    return _scaled(count, BIT_RATE_UNITS)


def with_unit(unit: str) -> Callable[[float], str]:
    return lambda value: f"{figure(value)} {unit}"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    show: Callable[[float], str]


#: What each estimator's result table shows, in order.
ROWS: dict[str, list[Row]] = {
    "nines": [
        Row("downtime_per_year_s", "Downtime per year (365.25 days)", duration),
        Row("downtime_per_month_s", "Downtime per 30-day month", duration),
        Row("downtime_per_week_s", "Downtime per week", duration),
        Row("downtime_per_day_s", "Downtime per day", duration),
        Row("requests_per_month", "Requests per 30-day month", whole),
        Row("error_budget_per_month", "Error budget per month (failed requests)", whole),
        Row("error_budget_per_day", "Error budget per day (failed requests)", whole),
    ],
    "serial-parallel": [
        Row("series_availability", "In series (all needed)", availability),
        Row("series_downtime_per_year_s", "In series: downtime per year", duration),
        Row("parallel_availability", "In parallel (any one enough)", availability),
        Row("parallel_downtime_per_year_s", "In parallel: downtime per year", duration),
    ],
    "qps": [
        Row("requests_per_day", "Requests per day", whole),
        Row("average_qps", "Average QPS", figure),
        Row("peak_qps", "Peak QPS", figure),
        Row("usable_qps_per_replica", "QPS per replica at the ceiling", figure),
        Row("replicas", "Replicas for the peak (before spares)", whole),
    ],
    "storage": [
        Row("bytes_per_day", "Per day (one copy)", size),
        Row("bytes_per_year", "Per year (one copy)", size),
        Row("bytes_retained", "Retained (one copy)", size),
        Row("bytes_on_disk", "On disk with replicas", size),
    ],
    "bandwidth": [
        Row("bytes_per_s", "Bytes per second", byte_rate),
        Row("bits_per_s", "Bits per second", bit_rate),
        Row("bytes_per_day", "Per day", size),
        Row("bytes_per_month", "Per 30-day month", size),
    ],
    "littles-law": [
        Row("arrival_rate", "Arrival rate λ", with_unit("requests/s")),
        Row("latency_ms", "Mean latency W", with_unit("ms")),
        Row("concurrency", "Concurrency L (in flight)", with_unit("requests")),
    ],
    "fan-out": [
        Row("any_slow_pct", "Requests that wait on a slow call", percent),
        Row("none_slow_pct", "Requests with no slow call", percent),
        Row("slow_call_pct", "Chance one call is slow", percent),
        Row("expected_slow_calls", "Slow calls per request, on average", figure),
    ],
    "kafka-partitions": [
        Row("for_producers", "Partitions for the producers", whole),
        Row("for_consumers", "Partitions for one consumer group", whole),
        Row("partitions", "Partitions needed", whole),
        Row("with_headroom", "With headroom", whole),
    ],
    "cache-latency": [
        Row("mean_ms", "Mean read latency", with_unit("ms")),
        Row("miss_time_pct", "Share of read time spent on misses", percent),
    ],
    "token-bucket": [
        Row("offered", "Requests offered", whole),
        Row("allowed", "Allowed", whole),
        Row("rejected", "Rejected", whole),
        Row("rejected_pct", "Share rejected", percent),
    ],
}


@dataclass(frozen=True)
class ShownValue:
    key: str
    label: str
    text: str
    computed: bool = False
    """True for the value the estimate solved for, when the reader chose (Little's law)."""


def present(name: str, result: Any) -> list[ShownValue]:
    """The rows of ``result`` as people read them."""
    solved = getattr(result, "solved_for", None)
    return [
        ShownValue(row.key, row.label, row.show(getattr(result, row.key)), row.key == solved)
        for row in ROWS[name]
    ]


def context(name: str, query: QueryDict | None, page_url: str) -> dict[str, Any]:
    """Template context for one estimator: its form, filled from ``query`` or with its defaults,
    the rows of its result (None while a field is wrong), the page its form submits to, and
    the rest of the query (other estimators' inputs), which the form sends back unchanged."""
    form = FORMS[name].from_query(query)
    result = form.result()
    carried = [
        (key, value)
        for key, values in (query.lists() if query is not None else ())
        if key != "est" and key not in form.fields
        for value in values
    ]
    return {
        "name": name,
        "title": form.estimate.title,
        "form": form,
        "rows": present(name, result) if result is not None else None,
        "input_ids": " ".join(field.auto_id for field in form),
        # The result carries what it was computed from, so a page put back from history can
        # show those values in the fields (static/js/site.js).
        "inputs": urlencode({name: form.data.get(name, "") for name in form.fields}),
        "page_url": page_url,
        "carried": carried,
    }
