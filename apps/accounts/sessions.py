"""Sessions in the database (apps.accounts.models.Session), each row naming its user: the
request that reads a signed-in user reads the session, the user, what the page's header shows of
them and the content version in one statement (apps.accounts.backends). Nothing is kept in the
cache, so a Redis restart signs nobody out.

settings.SESSION_ENGINE names this module.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core import signing
from django.utils import timezone

from apps.accounts import backends


class SessionStore(db.SessionStore):
    # The content version (apps.core.caching) as the database held it when the session was
    # read: a signed-in page kept in this process's memory is served if it was made for it.
    content_version: str | None = None

    @classmethod
    def get_model_class(cls):
        from apps.accounts.models import Session

        return Session

    def load(self) -> dict:
        key = self.session_key
        found = backends.read_session(key, timezone.now()) if key else None
        if found is None:
            self._session_key = None  # as Django's: a session not found starts anew
            return {}
        data, self.content_version = found
        return self.decode(data)

    def decode(self, session_data: str) -> dict:
        """As Django's: the session's data if its signature holds, else {} (a forged or
        corrupted session, logged as Django logs it). A signature already checked in this
        process is not checked again (:func:`_payload`); the data is deserialized anew each
        time, so nothing a request changes in it reaches another."""
        try:
            keys = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
            return self.serializer().loads(_payload(session_data, self.key_salt, keys))
        except signing.BadSignature:
            logging.getLogger("django.security.SuspiciousSession").warning("Session data corrupted")
        except Exception:  # as Django's decode: any other failure is an empty session
            pass
        return {}

    def create_model_instance(self, data: dict):
        session = super().create_model_instance(data)
        session.user_id = _user_id(data.get(SESSION_KEY))
        return session


class _Verified:
    """A serializer for signing.loads that hands back the payload it checked, as bytes."""

    def loads(self, data: bytes) -> bytes:
        return data


@functools.lru_cache(maxsize=4096)
def _payload(session_data: str, salt: str, keys: tuple[str, ...]) -> bytes:
    """The payload of a signed session, checked by Django's signing.loads (BadSignature if it
    does not hold). Each signed-in request reads its session, and checking the signature
    (a key derivation and an HMAC, base64 and zlib) was about a twentieth of a stored page's
    work. The same signed text always holds the same payload under the same keys, so a check
    is kept for the next request with that text: 4,096 of them, a few hundred bytes each.
    ``keys`` (the secret key and its fallbacks, which signing.loads reads from the settings)
    are part of what a check is kept under: a retired key signs nothing in. A failed check is
    not kept; it raises again the next time."""
    return signing.loads(session_data, salt=salt, serializer=_Verified)


def _user_id(value) -> int | None:
    """The user a session's data signs in, as the row's column holds it; None for none (or for
    a value no user id could be: Django's sign-in then finds no user either)."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
