"""What the site counts for Prometheus, and the page Prometheus reads it from.

Latency by view, responses by status, autosave outcomes, rate-limit refusals and the anonymous
page cache's hits and misses. Under gunicorn each worker process counts for itself; with
PROMETHEUS_MULTIPROC_DIR set (make cluster, the Dockerfile) prometheus-client keeps the counts
in files there and the page adds up every worker's, whichever worker answers the scrape.

The task queue is not counted but read: its depth and the age of its oldest waiting task come
from the database at scrape time (:class:`TaskQueueCollector`), so every replica and the worker
report the same numbers, and none of them can drift from the queue itself.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Case, Count, F, Min, Q, When
from django.http import HttpRequest, HttpResponse
from django.tasks import DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

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
STORED_PAGES = Counter(
    "mlsd_stored_pages",
    "Signed-in pages served stored, by where the copy came from: this process's memory, the"
    " shared cache, or rendered now to be stored.",
    ["source"],
)


#: HTTP's methods; any other a client makes up is counted as "other", so that no client can
#: add series to every worker's metrics (an unknown method still reaches Django, for its 405).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    method = request.method if request.method in METHODS else "other"
    REQUEST_SECONDS.labels(_view(request, response), method).observe(seconds)
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
    """Only Prometheus on the same machine (or at an address in settings.METRICS_SCRAPERS)
    may read the numbers; nginx's requests carry X-Forwarded-For, so nothing a reader sends
    through it is let in."""
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback or any(address in net for net in settings.METRICS_SCRAPERS)


class TaskQueueCollector(Collector):
    """The task queue's depth by queue and state, and how long its oldest due task has waited,
    read with one query over the tasks not yet finished.

    ``ready`` tasks are due and waiting for the worker; ``scheduled`` ones wait for their
    ``run_after``; ``running`` ones were taken by a worker (one killed mid-task leaves its task
    here: apps.core.worker re-enqueues the work, not the row). A ready task has waited since it
    was enqueued, or since its ``run_after`` when it had one.

    ``own_connection``: collecting outside a request (the worker's metrics thread), so close
    the thread's database connection afterwards; nothing else would.
    """

    def __init__(self, own_connection: bool = False) -> None:
        self.own_connection = own_connection

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            queues = self.read()
        except DatabaseError as exc:
            # The database is down: /healthz and the replicas' 5xx already say so. No numbers
            # is better than zeros that read as an empty queue.
            logger.warning("task queue metrics: the database did not answer (%s)", exc)
            return
        finally:
            if self.own_connection:
                connection.close()
        depth = GaugeMetricFamily(
            "mlsd_task_queue_depth",
            "Tasks not yet finished, by queue and state (ready: due and waiting; scheduled: "
            "waiting for run_after; running: taken by a worker).",
            labels=["queue", "status"],
        )
        age = GaugeMetricFamily(
            "mlsd_task_oldest_ready_age_seconds",
            "How long the longest-waiting due task has waited (0 when none waits), by queue.",
            labels=["queue"],
        )
        now = timezone.now()
        for queue, row in sorted(queues.items()):
            for status in ("ready", "scheduled", "running"):
                depth.add_metric([queue, status], row[status])
            waited = (now - row["oldest_ready"]).total_seconds() if row["oldest_ready"] else 0.0
            age.add_metric([queue], max(0.0, waited))
        yield depth
        yield age

    @staticmethod
    def read() -> dict[str, dict]:
        from django_tasks_db.models import DBTaskResult, get_date_max

        now, never = timezone.now(), get_date_max()
        # django-tasks-db's own meaning of ready (DBTaskResultQuerySet.ready): no run_after
        # (stored as the largest date) or one that has passed.
        ready = Q(status=TaskResultStatus.READY) & (Q(run_after=never) | Q(run_after__lte=now))
        waiting_since = Case(When(run_after=never, then=F("enqueued_at")), default=F("run_after"))
        rows = (
            DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
            )
            .values("queue_name")
            .annotate(
                ready=Count("pk", filter=ready),
                scheduled=Count("pk", filter=Q(status=TaskResultStatus.READY) & ~ready),
                running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
                oldest_ready=Min(waiting_since, filter=ready),
            )
            .order_by()
        )
        # The default queue always has a row: an idle queue reads 0, not "no data".
        empty = {"ready": 0, "scheduled": 0, "running": 0, "oldest_ready": None}
        queues = {DEFAULT_TASK_QUEUE_NAME: empty}
        queues.update({row.pop("queue_name"): row for row in rows})
        return queues


def queue_registry(own_connection: bool = False) -> CollectorRegistry:
    """A registry of the task queue's numbers alone. Not REGISTRY: reading a counter there (as
    the tests do) must not query the database."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskQueueCollector(own_connection))
    return registry


TASK_QUEUE = queue_registry()


def serve_task_queue(port: int, address: str = "127.0.0.1") -> None:
    """The worker's own /metrics on ``address``:``port`` (this machine only, unless a private
    network's Prometheus reads it, as in compose): the task queue's numbers, read in a thread
    of the worker (prometheus-client's server) with a connection of its own."""
    start_http_server(port, addr=address, registry=queue_registry(own_connection=True))


def exposition() -> tuple[bytes, str]:
    """The text format Prometheus scrapes, with its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(TASK_QUEUE), CONTENT_TYPE_LATEST
