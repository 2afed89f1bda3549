"""The numbers Prometheus reads (apps.core.monitoring), and who may read them."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from apps.accounts import throttle
from apps.core import caching, monitoring
from apps.designdocs.models import DesignDoc
from apps.designdocs.tasks import refresh_doc

METRICS_URL = "/internal/metrics"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def doc(alice):
    return DesignDoc.objects.create(owner=alice, title="Fraud detection", problem="Stop fraud.")


def autosave(client, doc, value, version):
    return client.post(
        f"/docs/{doc.pk}/answers/business_goal/",
        {"business_goal": value, "version_business_goal": version},
        headers={"HX-Request": "true"},
    )


def test_prometheus_reads_the_numbers_from_the_machine_itself(client, db):
    client.get(reverse("core:healthz"))
    response = client.get(METRICS_URL, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert 'mlsd_request_duration_seconds_bucket{le="0.1",method="GET",view="core:healthz"}' in (
        response.text
    )


@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        # Through nginx: from the loopback, but with the reader's address forwarded.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "not an address"},
    ],
)
def test_nobody_else_reads_them(client, db, meta):
    assert client.get(METRICS_URL, **meta).status_code == 404


def test_a_named_scraper_on_the_private_network_reads_them(client, db, settings):
    # compose's Prometheus, at its fixed address: that address only, never through nginx.
    settings.METRICS_SCRAPERS = [ipaddress.ip_network("172.28.0.11/32")]
    assert client.get(METRICS_URL, REMOTE_ADDR="172.28.0.11").status_code == 200
    assert client.get(METRICS_URL, REMOTE_ADDR="172.28.0.12").status_code == 404
    forwarded = {"REMOTE_ADDR": "172.28.0.11", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get(METRICS_URL, **forwarded).status_code == 404


def test_requests_are_timed_by_view_and_counted_by_status(client, db):
    timed = sample("mlsd_request_duration_seconds_count", view="concepts:detail", method="GET")
    missing = sample("mlsd_responses_total", status="404")
    assert client.get(reverse("concepts:detail", args=["kafka"])).status_code == 200
    assert client.get("/concepts/no-such-concept/").status_code == 404
    after = sample("mlsd_request_duration_seconds_count", view="concepts:detail", method="GET")
    assert after == timed + 2
    assert sample("mlsd_responses_total", status="404") == missing + 1


def test_page_cache_hits_and_misses_are_counted(client, db):
    hits, misses = (
        sample("mlsd_page_cache_lookups_total", result="hit"),
        sample("mlsd_page_cache_lookups_total", result="miss"),
    )
    for _ in range(3):
        client.get(reverse("concepts:detail", args=["kafka"]))
    assert sample("mlsd_page_cache_lookups_total", result="miss") == misses + 1
    assert sample("mlsd_page_cache_lookups_total", result="hit") == hits + 2


def test_stored_pages_are_counted_by_where_they_came_from(client, alice):
    client.force_login(alice)
    before = {s: sample("mlsd_stored_pages_total", source=s) for s in SOURCES}
    for _ in range(3):
        assert client.get(reverse("concepts:detail", args=["kafka"])).status_code == 200
    caching._RECENT.pages.clear()  # as in another replica, which has not served it yet
    assert client.get(reverse("concepts:detail", args=["kafka"])).status_code == 200
    after = {s: sample("mlsd_stored_pages_total", source=s) - before[s] for s in SOURCES}
    assert after == {"rendered": 1, "memory": 2, "shared": 1}


SOURCES = ("rendered", "memory", "shared")


def test_autosave_outcomes_are_counted(client, alice, doc):
    client.force_login(alice)
    before = {o: sample("mlsd_autosaves_total", outcome=o) for o in ("saved", "conflict")}
    assert autosave(client, doc, "First tab", 0).status_code == 200
    assert autosave(client, doc, "Second tab", 0).status_code == 409
    assert sample("mlsd_autosaves_total", outcome="saved") == before["saved"] + 1
    assert sample("mlsd_autosaves_total", outcome="conflict") == before["conflict"] + 1


def test_autosaves_over_the_limit_are_counted_as_throttled(client, alice, doc, settings):
    client.force_login(alice)
    limit = throttle.AUTOSAVES_PER_USER
    for _ in range(limit.limit):
        limit.hit(str(alice.pk))
    throttled = sample("mlsd_autosaves_total", outcome="throttled")
    over = sample("mlsd_throttled_total", scope=limit.scope)
    assert autosave(client, doc, "One too many", 0).status_code == 429
    assert sample("mlsd_autosaves_total", outcome="throttled") == throttled + 1
    assert sample("mlsd_throttled_total", scope=limit.scope) == over + 1


def test_a_refusal_by_a_limit_is_counted(db):
    limit = throttle.Limit("test-refusal", 1, 60)
    before = sample("mlsd_throttled_total", scope="test-refusal")
    limit.hit("someone")
    assert limit.refusal("someone", "Wait {wait}.") is not None
    assert sample("mlsd_throttled_total", scope="test-refusal") == before + 1


# --- The task queue: read from the database at scrape time -------------------------------------


def scraped(client) -> dict[tuple[str, tuple], float]:
    response = client.get(METRICS_URL, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def depth(numbers, queue_name: str, status: str) -> float | None:
    return numbers.get(("mlsd_task_queue_depth", (("queue", queue_name), ("status", status))))


def oldest(numbers, queue_name: str) -> float | None:
    return numbers.get(("mlsd_task_oldest_ready_age_seconds", (("queue", queue_name),)))


def test_an_idle_queue_reads_zero_not_nothing(client, db, database_tasks):
    numbers = scraped(client)
    assert [depth(numbers, "default", s) for s in ("ready", "scheduled", "running")] == [0, 0, 0]
    assert oldest(numbers, "default") == 0


def test_queued_tasks_are_counted_by_queue_and_state(client, database_tasks, alice, doc):
    for _ in range(3):
        refresh_doc.enqueue(doc.pk)
    # The site has one queue; another is counted apart.
    mail = refresh_doc.enqueue(doc.pk)
    DBTaskResult.objects.filter(pk=mail.id).update(queue_name="mail")
    later = timezone.now() + timedelta(hours=1)
    refresh_doc.using(run_after=later).enqueue(doc.pk)
    DBTaskResult.objects.ready().first().claim("worker-1")
    finished = refresh_doc.enqueue(doc.pk)
    DBTaskResult.objects.get(pk=finished.id).set_successful(None)

    numbers = scraped(client)
    assert depth(numbers, "default", "ready") == 2  # three queued, one taken by a worker
    assert depth(numbers, "default", "running") == 1
    assert depth(numbers, "default", "scheduled") == 1  # not due for an hour: not waiting yet
    assert depth(numbers, "mail", "ready") == 1
    assert depth(numbers, "mail", "running") == 0


def test_the_oldest_due_task_gives_the_age(client, database_tasks, alice, doc):
    now = timezone.now()
    waited = refresh_doc.enqueue(doc.pk)
    refresh_doc.enqueue(doc.pk)
    DBTaskResult.objects.filter(pk=waited.id).update(enqueued_at=now - timedelta(seconds=90))
    # Due since 30 s ago, though enqueued long before: it waits from its run_after.
    due = refresh_doc.using(run_after=now - timedelta(seconds=30)).enqueue(doc.pk)
    DBTaskResult.objects.filter(pk=due.id).update(enqueued_at=now - timedelta(hours=2))
    # Not due yet, and a running task: neither is waiting for the worker.
    refresh_doc.using(run_after=now + timedelta(hours=1)).enqueue(doc.pk)
    running = refresh_doc.enqueue(doc.pk)
    DBTaskResult.objects.filter(pk=running.id).update(enqueued_at=now - timedelta(hours=3))
    DBTaskResult.objects.get(pk=running.id).claim("worker-1")

    assert 90 <= oldest(scraped(client), "default") < 150
    DBTaskResult.objects.filter(pk=waited.id).delete()
    assert 30 <= oldest(scraped(client), "default") < 90


def test_the_worker_serves_the_same_numbers(database_tasks, alice, doc):
    refresh_doc.enqueue(doc.pk)
    refresh_doc.enqueue(doc.pk)
    registry = monitoring.queue_registry()
    assert (
        registry.get_sample_value("mlsd_task_queue_depth", {"queue": "default", "status": "ready"})
        == 2
    )


def test_reading_a_counter_does_not_query_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        sample("mlsd_responses_total", status="200")


def test_the_queue_is_read_in_one_query(database_tasks, django_assert_num_queries, alice, doc):
    refresh_doc.enqueue(doc.pk)
    refresh_doc.enqueue(doc.pk)
    with django_assert_num_queries(1):
        text = generate_latest(monitoring.TASK_QUEUE).decode()
    assert 'mlsd_task_queue_depth{queue="default",status="ready"} 2.0' in text


def test_a_made_up_http_method_is_counted_as_other_not_as_a_new_series(client, db):
    before = sample("mlsd_request_duration_seconds_count", view="concepts:detail", method="other")
    for method in ["AAAB", "AAAC", "QUOKKA"]:
        assert client.generic(method, "/concepts/kafka/").status_code == 405
    families = text_string_to_metric_families(generate_latest(REGISTRY).decode())
    methods = {s.labels.get("method") for f in families for s in f.samples if "method" in s.labels}
    assert methods.isdisjoint({"AAAB", "AAAC", "QUOKKA"})
    after = sample("mlsd_request_duration_seconds_count", view="concepts:detail", method="other")
    assert after == before + 3
