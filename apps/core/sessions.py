"""Sessions kept as django.contrib.sessions' ``cached_db`` keeps them (in the database, with a
copy in the cache: a Redis restart signs nobody out), read from the cache together with the
content version. A signed-in page then learns in that same round trip whether the copy of it
this process keeps is still current (apps.core.caching.stored_page): one trip fewer per page.

settings.SESSION_ENGINE names this module.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import DEFAULT_CACHE_ALIAS

from apps.core.caching import VERSION_KEY


class SessionStore(cached_db.SessionStore):
    content_version: int | None = None  # as the cache held it when the session was read

    def load(self) -> dict:
        if settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS:  # the version is not there
            return super().load()
        try:
            found = self._cache.get_many([self.cache_key, VERSION_KEY])
        except Exception:  # as cached_db: a key the cache refuses is no session
            found = {}
        self.content_version = found.get(VERSION_KEY)
        data = found.get(self.cache_key)
        # Not in the cache (evicted, or Redis restarted): cached_db reads the database and
        # keeps a copy again.
        return super().load() if data is None else data
