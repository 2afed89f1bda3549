"""The session table, with the user each session signs in (apps.accounts.sessions)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    """Django's database session with one more column: the user it signs in, written with
    each save. A signed-in request then reads its session and its user in one statement; an
    account's deletion deletes its sessions, so it is signed out everywhere at once."""

    # No constraint in the database: a session saved for a user deleted meanwhile is saved
    # all the same, and signs nobody in (Django's delete still removes a user's sessions).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from apps.accounts.sessions import SessionStore

        return SessionStore
