"""Hand-written SQL for the few reads made on nearly every request (the signed-in user, the
doc a page shows, a review's next card, the state of what a signed-in page shows), where
building and compiling the query with the ORM costs several times what the database takes to
run it. Plain enough for SQLite and PostgreSQL alike; each use is tested on both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col


def fetch_one(sql: str, params: dict | list) -> tuple | None:
    """The first row of ``sql`` run with ``params``, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def columns[M: Model](model: type[M], alias: str = "") -> str:
    """The model's columns, in the order :func:`fetch_instance` reads them, for a SELECT."""
    return _columns(connection.vendor, model, alias)


@cache
def _columns(vendor: str, model: type[Model], alias: str) -> str:
    quote, prefix = connection.ops.quote_name, f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{quote(field.column)}" for field in model._meta.concrete_fields)


def fetch_instance[M: Model](
    model: type[M], sql: str, params: dict | list, extra: Sequence[str] = ()
) -> M | None:
    """The first row of ``sql`` as a ``model`` instance (:func:`instance_from`), or None.
    The user's read took 109 µs this way against 189 µs through ``Manager.raw()``, round trip
    included: ``raw()`` resolves the columns by name and the model's fields on every call."""
    row = fetch_one(sql, params)
    return None if row is None else instance_from(model, row, extra)


def instance_from[M: Model](model: type[M], row: Sequence, extra: Sequence[str] = ()) -> M:
    """``row`` as a ``model`` instance: :func:`columns` first, then one value for each name in
    ``extra``, which becomes an attribute of the instance as it comes from the database. The
    columns are converted as a queryset would (the same converters, found once per model)."""
    fields = model._meta.concrete_fields
    values = list(row[: len(fields)])
    for index, converters, column in _converters(connection.alias, model):
        for convert in converters:
            values[index] = convert(values[index], column, connection)
    instance = model.from_db(connection.alias, [f.attname for f in fields], values)
    for name, value in zip(extra, row[len(fields) :], strict=True):
        setattr(instance, name, value)
    return instance


def width(model: type[Model]) -> int:
    """How many values :func:`columns` selects."""
    return len(model._meta.concrete_fields)


@cache
def _converters(alias: str, model: type[Model]) -> list[tuple[int, list, Col]]:
    """``(column index, converters, column)`` for each of the model's columns that has any,
    as the SQL compiler finds and calls them (the backend's, then the field's)."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column)
        converters += column.get_db_converters(connection)
        if converters:
            found.append((index, converters, column))
    return found


@dataclass(frozen=True)
class RowRead[M: Model]:
    """How to read one row of ``model`` along with another (the signed-in user's, in
    apps.accounts.backends.read_with_user): the values to ``select`` (:func:`columns`, then
    one value per name in ``extra``), the ``join`` that finds the row, and ``params`` for
    their placeholders in that order. The join is an outer one: a row of NULLs is no row."""

    model: type[M]
    select: str
    join: str
    params: list
    extra: tuple[str, ...] = ()

    def instance(self, row: Sequence | None) -> M | None:
        meta = self.model._meta
        if row is None or row[meta.concrete_fields.index(meta.pk)] is None:
            return None
        return instance_from(self.model, row, self.extra)
