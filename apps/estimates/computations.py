"""Back-of-the-envelope estimates for the concept pages: one pure function per estimate.

Shared by the estimators on the concept pages and the JSON API, and free of Django. Each
estimate declares its inputs as :class:`Quantity` values (label, unit, allowed range, default),
so the HTML form, the API schema and :meth:`Estimate.run` all enforce the same bounds.

Units follow the handbook's pages: a month is 30 days, a year 365.25 days, and sizes are
decimal (1 KB = 1,000 bytes, 1 MB = 10⁶ bytes, 1 TB = 10¹² bytes). Every result field names
its unit in its name (``_s`` seconds, ``_ms`` milliseconds, ``_pct`` percent, ``bytes``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

DAY_S = 86_400
WEEK_S = 7 * DAY_S
MONTH_S = 30 * DAY_S
YEAR_S = 365.25 * DAY_S

MAX_COMPONENTS = 10
"""Most components the series/parallel estimate combines."""
MAX_SIMULATED_REQUESTS = 100_000
"""Most requests the token bucket replays, one by one (about 30 ms at the limit)."""


class EstimateError(ValueError):
    """An input the estimate cannot use: ``field`` names it, ``message`` says what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def show(value: float) -> str:
    """A limit or an input as people write it: 10,000,000 and 0.001, not 1e7 and 1e-03."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,}"


@dataclass(frozen=True)
class Quantity:
    """One input of an estimate: what it is, in what unit, and which values are allowed."""

    name: str
    label: str
    unit: str
    minimum: float
    maximum: float
    default: float | tuple[float, ...] | None
    help: str = ""
    whole: bool = False
    optional: bool = False
    max_items: int = 0
    """Above 0, the input is a list of 1 to ``max_items`` values, each within the range."""

    @property
    def labelled(self) -> str:
        """The label with its unit, as the form shows it: “Availability (%)”."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def range_message(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        unit = f" {self.unit}" if self.unit and self.unit not in {"%", "×"} else self.unit
        return (
            f"{self.labelled} must be {kind} from {show(self.minimum)} to "
            f"{show(self.maximum)}{unit}."
        )

    def check(self, value: Any) -> None:
        """Raise :class:`EstimateError` unless ``value`` is allowed here."""
        if value is None:
            if not self.optional:
                raise EstimateError(self.name, f"Enter {self.labelled}.")
            return
        if self.max_items:
            if not isinstance(value, Sequence) or not 1 <= len(value) <= self.max_items:
                raise EstimateError(
                    self.name, f"{self.labelled}: give 1 to {self.max_items} values."
                )
            for item in value:
                self._check_one(item)
        else:
            self._check_one(value)

    def _check_one(self, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not self.minimum <= value <= self.maximum
            or (self.whole and not float(value).is_integer())
        ):
            raise EstimateError(self.name, self.range_message())


@dataclass(frozen=True)
class Estimate:
    name: str
    title: str
    function: Callable[..., Any]
    inputs: tuple[Quantity, ...]

    def defaults(self) -> dict[str, Any]:
        return {q.name: q.default for q in self.inputs}

    def run(self, **values: Any) -> Any:
        """Check every input against its range, then compute (missing inputs are None)."""
        for quantity in self.inputs:
            quantity.check(values.get(quantity.name))
        return self.function(**{q.name: values.get(q.name) for q in self.inputs})

    def run_to_dict(self, **values: Any) -> dict[str, Any]:
        return asdict(self.run(**values))


def _whole_up(value: float) -> int:
    """Round up to a whole number, ignoring float noise: 50 / 5 is 10, not 11."""
    return math.ceil(round(value, 9))


# --- Availability: counting nines ---------------------------------------------------------


@dataclass(frozen=True)
class Nines:
    downtime_per_year_s: float
    downtime_per_month_s: float
    downtime_per_week_s: float
    downtime_per_day_s: float
    requests_per_month: float
    error_budget_per_month: float
    """Requests that may fail in a 30-day month."""
    error_budget_per_day: float


def nines(availability: float, qps: float) -> Nines:
    """Allowed downtime for an availability target, and its error budget in requests."""
    unavailable = (100 - availability) / 100
    return Nines(
        downtime_per_year_s=unavailable * YEAR_S,
        downtime_per_month_s=unavailable * MONTH_S,
        downtime_per_week_s=unavailable * WEEK_S,
        downtime_per_day_s=unavailable * DAY_S,
        requests_per_month=qps * MONTH_S,
        error_budget_per_month=unavailable * qps * MONTH_S,
        error_budget_per_day=unavailable * qps * DAY_S,
    )


# --- Redundancy: components in series and in parallel --------------------------------------


@dataclass(frozen=True)
class SerialParallel:
    series_availability: float
    """Percent, when every component is needed (failures independent)."""
    series_downtime_per_year_s: float
    parallel_availability: float
    """Percent, when any one component is enough (failures independent)."""
    parallel_downtime_per_year_s: float


def serial_parallel(availabilities: Sequence[float]) -> SerialParallel:
    """Availability of components chained in series (all needed) and in parallel (any one)."""
    series = math.prod(a / 100 for a in availabilities)
    parallel_down = math.prod((100 - a) / 100 for a in availabilities)
    return SerialParallel(
        series_availability=series * 100,
        series_downtime_per_year_s=(1 - series) * YEAR_S,
        parallel_availability=(1 - parallel_down) * 100,
        parallel_downtime_per_year_s=parallel_down * YEAR_S,
    )


# --- QPS: from users to replicas ------------------------------------------------------------


@dataclass(frozen=True)
class Qps:
    requests_per_day: float
    average_qps: float
    peak_qps: float
    usable_qps_per_replica: float
    replicas: int
    """Replicas that carry the peak at the utilisation ceiling, before spares."""


def qps(
    dau: float,
    requests_per_user: float,
    peak_factor: float,
    replica_qps: float,
    utilisation_pct: float,
) -> Qps:
    """Average and peak request rate from daily users, and the replicas the peak needs."""
    per_day = dau * requests_per_user
    average = per_day / DAY_S
    peak = average * peak_factor
    usable = replica_qps * utilisation_pct / 100
    return Qps(
        requests_per_day=per_day,
        average_qps=average,
        peak_qps=peak,
        usable_qps_per_replica=usable,
        replicas=_whole_up(peak / usable),
    )


# --- Data storage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Storage:
    bytes_per_day: float
    """One copy."""
    bytes_per_year: float
    """One copy, over 365.25 days."""
    bytes_retained: float
    """One copy of everything inside the retention window."""
    bytes_on_disk: float
    """Everything retained, times the replication factor."""


def storage(
    items_per_day: float, bytes_per_item: float, retention_days: float, replication: int
) -> Storage:
    """Storage written per day and per year, and what the retention window keeps on disk."""
    per_day = items_per_day * bytes_per_item
    retained = per_day * retention_days
    return Storage(
        bytes_per_day=per_day,
        bytes_per_year=per_day * 365.25,
        bytes_retained=retained,
        bytes_on_disk=retained * replication,
    )


# --- Throughput: bandwidth --------------------------------------------------------------------


@dataclass(frozen=True)
class Bandwidth:
    bytes_per_s: float
    bits_per_s: float
    bytes_per_day: float
    bytes_per_month: float
    """Over a 30-day month."""


def bandwidth(qps: float, response_kb: float) -> Bandwidth:
    """Egress of ``qps`` responses a second of ``response_kb`` kilobytes each."""
    per_second = qps * response_kb * 1000
    return Bandwidth(
        bytes_per_s=per_second,
        bits_per_s=per_second * 8,
        bytes_per_day=per_second * DAY_S,
        bytes_per_month=per_second * MONTH_S,
    )


# --- Latency: Little's law ------------------------------------------------------------------


@dataclass(frozen=True)
class LittlesLaw:
    arrival_rate: float
    """Requests per second (λ)."""
    latency_ms: float
    """Mean time in the system (W)."""
    concurrency: float
    """Mean requests in the system (L = λW)."""
    solved_for: str
    """Which of the three was computed from the other two."""


LITTLE = ("arrival_rate", "latency_ms", "concurrency")


def littles_law(
    arrival_rate: float | None, latency_ms: float | None, concurrency: float | None
) -> LittlesLaw:
    """Little's law, L = λW: give any two of arrival rate, latency and concurrency."""
    given = {"arrival_rate": arrival_rate, "latency_ms": latency_ms, "concurrency": concurrency}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) != 1:
        field = missing[0] if len(missing) > 1 else "concurrency"
        raise EstimateError(
            field,
            "Leave exactly one of Arrival rate λ, Mean latency W and Concurrency L empty: it is "
            "computed from the other two.",
        )
    solved = missing[0]
    if solved == "concurrency":
        concurrency = arrival_rate * latency_ms / 1000
    elif solved == "arrival_rate":
        arrival_rate = concurrency / (latency_ms / 1000)
    else:
        latency_ms = concurrency / arrival_rate * 1000
    return LittlesLaw(arrival_rate, latency_ms, concurrency, solved)


# --- Latency: fan-out and the tail ------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    slow_call_pct: float
    """Chance that one call is slower than the percentile."""
    any_slow_pct: float
    """Chance that a request waits on at least one slow call."""
    none_slow_pct: float
    expected_slow_calls: float
    """Slow calls per request, on average."""


def fan_out(percentile: float, fan_out: int) -> FanOut:
    """How often a request that waits for ``fan_out`` independent calls meets a slow one."""
    slow = (100 - percentile) / 100
    # log of (1 - p)^N, so that 1 - (1 - p)^N keeps its digits when p is tiny.
    log_none = fan_out * math.log1p(-slow) if slow < 1 else -math.inf
    return FanOut(
        slow_call_pct=slow * 100,
        any_slow_pct=-math.expm1(log_none) * 100,
        none_slow_pct=math.exp(log_none) * 100,
        expected_slow_calls=fan_out * slow,
    )


# --- Kafka: partitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class KafkaPartitions:
    for_producers: int
    """Partitions the producers need: target / per-partition producer throughput."""
    for_consumers: int
    """Partitions one consumer group needs: target / per-partition consumer throughput."""
    partitions: int
    with_headroom: int


def kafka_partitions(
    target_mb_s: float, producer_mb_s: float, consumer_mb_s: float, headroom: float
) -> KafkaPartitions:
    """Partitions for a target throughput: max(t / p, t / c), then times a headroom factor."""
    producers = _whole_up(target_mb_s / producer_mb_s)
    consumers = _whole_up(target_mb_s / consumer_mb_s)
    needed = max(producers, consumers, 1)
    return KafkaPartitions(
        for_producers=producers,
        for_consumers=consumers,
        partitions=needed,
        with_headroom=_whole_up(needed * headroom),
    )


# --- Redis: what a cache does to mean latency -----------------------------------------------


@dataclass(frozen=True)
class CacheLatency:
    mean_ms: float
    miss_time_pct: float
    """Share of all read time spent on misses."""


def cache_latency(hit_ratio_pct: float, hit_ms: float, miss_ms: float) -> CacheLatency:
    """Mean read latency behind a cache: h * hit + (1 - h) * miss."""
    hit = hit_ratio_pct / 100
    on_misses = (1 - hit) * miss_ms
    mean = hit * hit_ms + on_misses
    return CacheLatency(mean_ms=mean, miss_time_pct=on_misses / mean * 100)


# --- Rate limiting: token bucket ---------------------------------------------------------------


@dataclass(frozen=True)
class TokenBucket:
    offered: int
    allowed: int
    rejected: int
    rejected_pct: float


def _exact(value: float) -> Fraction:
    # The shortest decimal that reads back as this float is what the reader typed: 0.1 is 1/10.
    return Fraction(repr(float(value)))


def token_bucket(
    rate: float, capacity: int, burst_requests: int, request_rate: float, duration_s: float
) -> TokenBucket:
    """Replay a burst then a steady stream through a token bucket that starts full.

    ``burst_requests`` arrive together at t = 0; then one request every 1 / ``request_rate``
    seconds until ``duration_s``. The bucket holds at most ``capacity`` tokens, refills at
    ``rate`` tokens a second and each request takes one token or is rejected. Tokens are
    counted exactly (in whole fractions of a token), so 10 tokens/s over 0.1 s is one token.
    """
    capacity = int(capacity)
    burst_requests = int(burst_requests)
    steady = math.floor(_exact(request_rate) * _exact(duration_s)) if request_rate else 0
    offered = burst_requests + steady
    if offered > MAX_SIMULATED_REQUESTS:
        raise EstimateError(
            "duration_s",
            f"Duration (s): the burst and the steady rate make {offered:,} requests; at most "
            f"{MAX_SIMULATED_REQUESTS:,} can be replayed. Shorten the duration or lower the rate.",
        )
    allowed = min(burst_requests, capacity)
    if steady:
        per_arrival = _exact(rate) / _exact(request_rate)  # tokens refilled between arrivals
        if per_arrival >= 1:
            allowed += steady  # every arrival finds at least one token
        else:
            # Count in units of 1/denominator of a token so that every step is exact.
            unit = per_arrival.denominator
            refill, cost, full = per_arrival.numerator, unit, capacity * unit
            tokens = (capacity - allowed) * unit
            for _ in range(steady):
                tokens = min(full, tokens + refill)
                if tokens >= cost:
                    tokens -= cost
                    allowed += 1
    rejected = offered - allowed
    return TokenBucket(
        offered=offered,
        allowed=allowed,
        rejected=rejected,
        rejected_pct=rejected / offered * 100 if offered else 0.0,
    )


# --- The estimates, by name -------------------------------------------------------------------

PERCENT_HELP = "A percentage from 0 to 100"

ESTIMATES: dict[str, Estimate] = {
    estimate.name: estimate
    for estimate in (
        Estimate("nines", "Downtime and error budget", nines, (
            Quantity("availability", "Availability", "%", 0, 100, 99.9,
                     "The share of time or of requests the service works, e.g. 99.95."),
            Quantity("qps", "Traffic", "requests/s", 0, 10**8, 100,
                     "Average requests a second, for the error budget in requests."),
        )),
        Estimate("serial-parallel", "Components in series and in parallel", serial_parallel, (
            Quantity("availabilities", "Component availabilities", "%", 0, 100, (99, 99),
                     f"One per component, separated by commas or spaces; up to "
                     f"{MAX_COMPONENTS}.", max_items=MAX_COMPONENTS),
        )),
        Estimate("qps", "From daily users to replicas", qps, (
            Quantity("dau", "Daily active users", "", 0, 10**10, 10_000_000, whole=True),
            Quantity("requests_per_user", "Requests per user per day", "", 0, 10**6, 20),
            Quantity("peak_factor", "Peak-to-average factor", "×", 1, 100, 3,
                     "How much busier the peak hour is than the daily average; 2–3 is common."),
            Quantity("replica_qps", "Capacity of one replica", "requests/s", 0.001, 10**7, 400,
                     "What one replica holds within its latency target, from a load test."),
            Quantity("utilisation_pct", "Utilisation ceiling", "%", 1, 100, 70,
                     "How hard you let each replica run at peak."),
        )),
        Estimate("storage", "Storage over time", storage, (
            Quantity("items_per_day", "Items written per day", "", 0, 10**13, 10**8),
            Quantity("bytes_per_item", "Size of one item", "bytes", 0, 10**12, 1000,
                     "1 KB = 1,000 bytes."),
            Quantity("retention_days", "Retention", "days", 0, 36_525, 90),
            Quantity("replication", "Replication factor", "", 1, 10, 3, whole=True),
        )),
        Estimate("bandwidth", "Bandwidth", bandwidth, (
            Quantity("qps", "Traffic", "requests/s", 0, 10**8, 2000),
            Quantity("response_kb", "Response size", "KB", 0, 10**6, 50, "1 KB = 1,000 bytes."),
        )),
        Estimate("littles-law", "Little's law", littles_law, (
            Quantity("arrival_rate", "Arrival rate λ", "requests/s", 0.001, 10**9, 2000,
                     optional=True),
            Quantity("latency_ms", "Mean latency W", "ms", 0.001, 10**8, 50, optional=True),
            Quantity("concurrency", "Concurrency L", "requests in flight", 0.001, 10**9, None,
                     "Leave one of the three empty: it is computed from the other two.",
                     optional=True),
        )),
        Estimate("fan-out", "Fan-out and the tail", fan_out, (
            Quantity("percentile", "Slow beyond percentile", "", 0, 100, 99,
                     "99 means each call is slower than its p99 one time in 100."),
            Quantity("fan_out", "Calls per request", "", 1, 10**6, 100,
                     "Backends a request waits for, all of them.", whole=True),
        )),
        Estimate("kafka-partitions", "Kafka partitions", kafka_partitions, (
            Quantity("target_mb_s", "Target throughput", "MB/s", 0, 10**7, 50),
            Quantity("producer_mb_s", "Producer throughput per partition", "MB/s", 0.001,
                     10**5, 10),
            Quantity("consumer_mb_s", "Consumer throughput per partition", "MB/s", 0.001,
                     10**5, 5, "What one consumer processes from one partition."),
            Quantity("headroom", "Headroom factor", "×", 1, 10, 3,
                     "Room for growth: partitions are hard to add later."),
        )),
        Estimate("cache-latency", "Mean latency behind a cache", cache_latency, (
            Quantity("hit_ratio_pct", "Hit ratio", "%", 0, 100, 90),
            Quantity("hit_ms", "Latency of a hit", "ms", 0.001, 10**6, 0.5),
            Quantity("miss_ms", "Latency of a miss", "ms", 0.001, 10**6, 10,
                     "The whole miss path: cache round trip, database read and cache write."),
        )),
        Estimate("token-bucket", "Token bucket", token_bucket, (
            Quantity("rate", "Refill rate r", "tokens/s", 0, 100_000, 10),
            Quantity("capacity", "Bucket size b", "tokens", 1, 100_000, 20,
                     "The largest burst admitted at once.", whole=True),
            Quantity("burst_requests", "Requests sent at once at the start", "", 0,
                     MAX_SIMULATED_REQUESTS, 50, whole=True),
            Quantity("request_rate", "Steady rate after the burst", "requests/s", 0, 100_000, 20),
            Quantity("duration_s", "Duration", "s", 0, 86_400, 60,
                     f"The bucket starts full; at most {MAX_SIMULATED_REQUESTS:,} requests "
                     "in all."),
        )),
    )
}  # fmt: skip
"""Every estimate by the name used in concept pages, URLs and the API."""
