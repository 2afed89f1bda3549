"""Sessions in the database (apps.accounts.models.Session), each row naming its user: the
request that reads a signed-in user reads the session, the user, what the page's header shows of
them and the content version in one statement (apps.accounts.backends). Nothing is kept in the
cache, so a Redis restart signs nobody out.

settings.SESSION_ENGINE names this module.
"""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
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

    def create_model_instance(self, data: dict):
        session = super().create_model_instance(data)
        session.user_id = _user_id(data.get(SESSION_KEY))
        return session


def _user_id(value) -> int | None:
    """The user a session's data signs in, as the row's column holds it; None for none (or for
    a value no user id could be: Django's sign-in then finds no user either)."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
