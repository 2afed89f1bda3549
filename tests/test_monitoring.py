"""The numbers Prometheus reads (apps.core.monitoring), and who may read them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY

from apps.accounts import throttle
from apps.designdocs.models import DesignDoc

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
