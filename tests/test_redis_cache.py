"""While Redis is unreachable the site keeps serving and keeps everyone signed in
(apps.core.redis_cache), with the production cache and session settings pointed at a dead port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends import cached_db, db
from django.core.cache import caches
from django.urls import reverse

from apps.accounts import throttle
from apps.core.redis_cache import FailSoftRedisCache


@pytest.fixture
def dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_down(settings, dead_redis_url):
    """The settings a REDIS_URL gives, with Redis gone."""
    settings.CACHES = {
        "default": {
            "BACKEND": "apps.core.redis_cache.FailSoftRedisCache",
            "LOCATION": dead_redis_url,
        }
    }
    yield caches["default"]


def test_reads_miss_and_writes_are_dropped(redis_down):
    assert isinstance(redis_down, FailSoftRedisCache)
    redis_down.set("k", "v")
    assert redis_down.get("k", "default") == "default"
    assert redis_down.add("k", "v") is False
    assert redis_down.get_many(["k"]) == {}
    assert redis_down.get_or_set("k", "computed") == "computed"
    with pytest.raises(ValueError):
        redis_down.incr("k")


def test_pages_are_served(client, db, redis_down):
    response = client.get(reverse("concepts:detail", args=["kafka"]))
    assert response.status_code == 200


def test_signed_in_users_stay_signed_in(client, alice, redis_down):
    client.force_login(alice)
    response = client.get(reverse("designdocs:list"))
    assert response.status_code == 200
    assert alice.username in response.text


def test_rate_limits_let_requests_through(db, redis_down):
    limit = throttle.Limit("redis-down", 1, 60)
    assert [limit.hit("someone") for _ in range(3)] == [1, 1, 1]
    assert limit.refusal("someone", "Wait {wait}.") is None


def production_settings(**env: str) -> dict:
    """The settings a process started with ``env`` (and DEBUG off) reads."""
    code = (
        "import json, mlsd_site.settings as s; print(json.dumps({"
        "'cache': s.CACHES['default']['BACKEND'],"
        "'sessions': s.SESSION_ENGINE,"
        "'proxy_ssl_header': hasattr(s, 'SECURE_PROXY_SSL_HEADER')}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**base, "DEBUG": "false", "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_with_redis_sessions_stay_in_the_database():
    """A Redis restart signs nobody out: sessions are never kept only in the cache."""
    read = production_settings(REDIS_URL="redis://127.0.0.1:6379/0")
    assert read["cache"] == "apps.core.redis_cache.FailSoftRedisCache"
    assert read["sessions"] == "apps.accounts.sessions"
    store = import_module(read["sessions"]).SessionStore
    assert issubclass(store, db.SessionStore) and not issubclass(store, cached_db.SessionStore)


def test_django_never_believes_a_client_claiming_https():
    """The scheme comes from gunicorn, which reads X-Forwarded-Proto from nginx alone
    (--forwarded-allow-ips); Django's own setting would read it from anyone."""
    assert production_settings()["proxy_ssl_header"] is False
