"""Hand-written SQL for the few reads made on nearly every request (a review's next card, the
state of what a signed-in page shows), where building and compiling the query with the ORM
costs several times what the database takes to run it. Plain enough for SQLite and PostgreSQL
alike; each use is tested on both."""

from __future__ import annotations

from django.db import connection


def fetch_one(sql: str, params: dict | list) -> tuple | None:
    """The first row of ``sql`` run with ``params``, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
