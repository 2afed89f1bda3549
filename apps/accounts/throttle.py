"""Rate limits kept in the cache: counters per client address, account or user per window."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds

    def _key(self, who: str) -> str:
        # Hashed: "who" may be anything a client sent (a username of megabytes, say).
        digest = hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}"

    def hit(self, who: str) -> int:
        """Count one more event for ``who``; the window starts at the first event."""
        key = self._key(who)
        cache.add(key, 0, self.window)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, self.window)
            return 1

    def exceeded(self, who: str) -> bool:
        return (cache.get(self._key(who)) or 0) >= self.limit

    def reset(self, who: str) -> None:
        cache.delete(self._key(who))

    @property
    def minutes(self) -> int:
        return max(self.window // 60, 1)


LOGIN_FAILURES_PER_ADDRESS = Limit("login-ip", 20, 15 * 60)
LOGIN_FAILURES_PER_ACCOUNT = Limit("login-account", 5, 15 * 60)
SIGNUPS_PER_ADDRESS = Limit("signup-ip", 10, 60 * 60)
AUTOSAVES_PER_USER = Limit("autosave-user", 240, 60)


def client_address(request: HttpRequest) -> str:
    """The connecting address. Behind a proxy, configure it to set REMOTE_ADDR (gunicorn's
    --forwarded-allow-ips does) rather than trusting X-Forwarded-For here."""
    return request.META.get("REMOTE_ADDR", "unknown")
