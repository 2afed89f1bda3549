"""What the site counts for Prometheus, and the page Prometheus reads it from.

Latency by view, responses by status, autosave outcomes, rate-limit refusals and the anonymous
page cache's hits and misses. Under gunicorn each worker process counts for itself; with
PROMETHEUS_MULTIPROC_DIR set (make cluster, the Dockerfile) prometheus-client keeps the counts
in files there and the page adds up every worker's, whichever worker answers the scrape.
"""

from __future__ import annotations

import ipaddress
import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "mlsd_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by view.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RESPONSES = Counter("mlsd_responses", "Responses by HTTP status.", ["status"])
AUTOSAVES = Counter(
    "mlsd_autosaves",
    "Autosaves by outcome: saved, conflict (another tab saved first), refused (too large), "
    "throttled.",
    ["outcome"],
)
THROTTLED = Counter(
    "mlsd_throttled", "Events over a rate limit (turned away, or slowed down), by limit.", ["scope"]
)
CACHE_ERRORS = Counter(
    "mlsd_cache_errors",
    "Cache operations that found Redis unreachable, by operation.",
    ["operation"],
)
PAGE_CACHE = Counter(
    "mlsd_page_cache_lookups", "Anonymous page cache lookups: hit or miss.", ["result"]
)


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    REQUEST_SECONDS.labels(_view(request, response), request.method).observe(seconds)
    RESPONSES.labels(str(response.status_code)).inc()


def _view(request: HttpRequest, response: HttpResponse) -> str:
    # A bounded set of labels: URL names, never paths a client chose.
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if response.get("X-Page-Cache") == "hit":
        return "page-cache"
    return "unresolved"  # static files, or refused before URL resolution


def from_this_machine(request: HttpRequest) -> bool:
    """Only Prometheus on the same machine may read the numbers; nginx's requests carry
    X-Forwarded-For, so nothing a reader sends through it is let in."""
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def exposition() -> tuple[bytes, str]:
    """The text format Prometheus scrapes, with its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
