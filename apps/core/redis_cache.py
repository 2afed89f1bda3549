"""Redis as a cache the site can lose for a while.

Django's Redis backend raises when Redis cannot be reached, so a Redis restart would turn every
page into a 500. Here, while Redis is unreachable, reads miss, writes are dropped and counters
start again from nothing: anonymous pages are rendered afresh, sessions (cached_db) come from
the database, rate limits let requests through. Everything else is Django's backend unchanged.
One gap, for the length of an outage only: a session deleted then (sign-out) stays in Redis if
Redis kept its data, until it expires there.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from apps.core.monitoring import CACHE_ERRORS

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
# redis-py's own default retries with backoff for about 3.5 s before giving up: every request
# would wait that long per cache call during an outage. One immediate retry is enough for a
# pooled connection that a Redis restart closed.
CONNECTION_OPTIONS = {
    "retry": Retry(NoBackoff(), 1),
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
}
logger = logging.getLogger(__name__)


class ReusedClient(RedisCacheClient):
    """Django's client, with one ``redis.Redis`` per connection pool instead of one per call.

    Building a ``redis.Redis`` fills a table of ~170 response callbacks: about 0.1 ms, paid on
    every cache call (a signed-in page makes four or five). The object holds no connection of
    its own (the pool does), so one per pool serves every call, from any thread.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": {**CONNECTION_OPTIONS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._class = ReusedClient

    def _unreachable(self, operation: str, exc: Exception) -> None:
        CACHE_ERRORS.labels(operation).inc()
        logger.warning("Redis unreachable during %s: %s", operation, exc)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNREACHABLE as exc:
            self._unreachable("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNREACHABLE as exc:
            self._unreachable("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNREACHABLE as exc:
            self._unreachable("has_key", exc)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except UNREACHABLE as exc:
            self._unreachable("add", exc)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except UNREACHABLE as exc:
            self._unreachable("set", exc)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNREACHABLE as exc:
            self._unreachable("set_many", exc)
            return list(data)  # the keys that were not set

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNREACHABLE as exc:
            self._unreachable("touch", exc)
            return False

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNREACHABLE as exc:
            self._unreachable("incr", exc)
            # What Django's backends say for a missing key; callers start the count afresh.
            raise ValueError(f"Key {key!r} not found: Redis is unreachable.") from exc

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNREACHABLE as exc:
            self._unreachable("delete", exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except UNREACHABLE as exc:
            self._unreachable("delete_many", exc)

    def clear(self):
        try:
            return super().clear()
        except UNREACHABLE as exc:
            self._unreachable("clear", exc)
            return False
