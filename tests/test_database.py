"""How the site talks to its database on every request.

a. ``apps.core.sql.fetch_instance`` reads a row as the ORM would: every field equal, of the
   same type, on SQLite and PostgreSQL alike.
b. On PostgreSQL, ``apps.core.postgres`` checks a persistent connection's health without a
   round trip, and still finds one whose server has ended it.
c. On PostgreSQL, parameters are bound by the server and repeated statements are prepared.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.core.postgres import base as postgres
from apps.core.sql import columns, fetch_instance
from apps.designdocs.models import DesignDoc

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's connections only"
)


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_row_read_by_hand_is_the_instance_the_orm_reads(alice):
    doc = DesignDoc.objects.create(owner=alice, title="Fraud", problem="Stop fraud.")
    DesignDoc.objects.filter(pk=doc.pk).update(deleted_at=doc.created_at)
    for model, pk in [(get_user_model(), alice.pk), (DesignDoc, doc.pk)]:
        table = connection.ops.quote_name(model._meta.db_table)
        sql = f"SELECT {columns(model)}, 41 + 1 FROM {table} WHERE id = %s"
        read = fetch_instance(model, sql, [pk], extra=["answer"])
        expected = model.objects.get(pk=pk)
        assert fields(read) == fields(expected)
        assert {k: type(v) for k, v in fields(read).items()} == {
            k: type(v) for k, v in fields(expected).items()
        }, "converted as the ORM converts (aware datetimes, booleans)"
        assert read.answer == 42 and not read._state.adding and read._state.db == "default"
    assert fetch_instance(DesignDoc, f"{sql} AND 1 = 0", [doc.pk]) is None


@postgresql_only
def test_a_healthy_idle_connection_is_checked_without_a_round_trip(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(
        "django.db.backends.postgresql.base.DatabaseWrapper.is_usable",
        lambda self: pytest.fail("asked the server"),
    )
    with CaptureQueriesContext(connection) as queries:
        assert connection.is_usable()
    assert not queries.captured_queries


@postgresql_only
def test_a_connection_its_server_ended_is_found_unusable():
    """What a PostgreSQL restart does to every persistent connection: the server ends it."""
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        assert isinstance(other, postgres.DatabaseWrapper) and other.is_usable()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [other.connection.info.backend_pid])
        deadline = time.monotonic() + 5
        while other.is_usable() and time.monotonic() < deadline:
            time.sleep(0.01)  # the server's goodbye is on its way over the socket
        assert not other.is_usable()
        other.health_check_done = False  # as at the start of each request
        other.close_if_health_check_failed()
        assert other.connection is None, "closed before its first use in the request"
        with other.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,), "and the request's queries run on a new one"
    finally:
        other.close()


@postgresql_only
def test_a_connection_without_a_socket_is_unusable_not_an_error(monkeypatch):
    import psycopg

    other = connections.create_connection("default")
    try:
        other.ensure_connection()

        def lost():
            raise psycopg.OperationalError("the connection is lost")

        monkeypatch.setattr(other.connection, "fileno", lost)
        assert not other.is_usable()
    finally:
        monkeypatch.undo()
        other.close()


@postgresql_only
def test_repeated_statements_are_prepared_on_the_server(alice):
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    get_user_model().objects.get(pk=alice.pk)  # the connection is open
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute(
                f"SELECT {columns(get_user_model())} FROM auth_user WHERE id = %s", [alice.pk]
            )
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] >= 1
