"""Django's ModelBackend, with the user of each signed-in request read by a hand-written query.

Every signed-in request loads its user. The ORM's building and compiling of that one primary-key
lookup cost about three times what running it does (see apps.core.sql), on every page, autosave
and flashcard. This backend sends the same SELECT without the build (apps.core.sql) and still
converts the columns for the database in use; a page that shows a row of the user's (a doc) or
their state can have it read in the same statement (:func:`read_with_user`), and every page
request reads what its header shows of the user (their counts) in it too
(:class:`apps.accounts.middleware.AuthenticationMiddleware`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest

from apps.core import caching
from apps.core.models import Stamp
from apps.core.sql import columns, fetch_one, instance_from, width


@dataclass
class _Along:
    select: str  # SQL values; "{user}" stands for the user row's id column
    join: str  # joins after the user's table, "{user}" likewise
    params: list  # for the placeholders of select, then join
    row: tuple | None = None
    read: bool = False


_ALONG: ContextVar[_Along | None] = ContextVar("read_along_with_the_user", default=None)
# Set while a page request reads its user: the header's values are read in the same statement.
FOR_PAGE: ContextVar[bool] = ContextVar("user_read_for_a_page", default=False)


def read_with_user(
    request: HttpRequest, select: str, params: list, join: str = ""
) -> tuple[object, tuple | None]:
    """``request.user`` and the row of ``select`` for them, in one statement when the user
    has not been read yet in this request: a signed-in page's state, or the doc it shows, is
    read with the user, one round trip to the database fewer (about a tenth of a stored
    page's cost).

    ``select`` is one or more SQL values and ``join`` joins after the user's table (a
    ``LEFT JOIN``, so that the user's row is always there); in both, ``{user}`` stands for the
    user's id column. ``params`` fill the placeholders of ``select``, then of ``join``. Who the
    user is stays Django's to decide (django.contrib.auth.get_user: the session, its backend,
    the session hash): the row is kept only for the user it decided on, and is None when
    nobody is signed in."""
    along = _Along(select, join, list(params))
    token = _ALONG.set(along)
    try:
        user = request.user
        signed_in = user.is_authenticated  # reads the user now, if not read yet
    finally:
        _ALONG.reset(token)
    if not signed_in:
        return user, None
    if along.read:
        return user, along.row
    return user, fetch_one(_select(along, with_user=False), [*along.params, user.pk])


def user_and(request: HttpRequest, expression: str, params: list) -> tuple[object, object]:
    """``request.user`` and the value of one SQL ``expression`` for them
    (:func:`read_with_user`); None when nobody is signed in."""
    user, row = read_with_user(request, expression, params)
    return user, row[0] if row else None


def _select(along: _Along | None, *, with_user: bool, header: tuple[str, ...] = ()) -> str:
    """The user's row, ``header``'s values and ``along``'s, found by the user's id."""
    return _select_text(connection.vendor, _shape(along), with_user, header)


def _shape(along: _Along | None) -> tuple[str, str] | None:
    """What of ``along`` makes the statement's text (its values are parameters)."""
    return None if along is None else (along.select, along.join)


# The statements' texts depend only on the database, what is read along and the header's values,
# all named in code: a few of them, each built once (building one was a thirtieth of a stored
# page's work).
@functools.lru_cache(maxsize=128)
def _select_text(
    vendor: str, along: tuple[str, str] | None, with_user: bool, header: tuple[str, ...]
) -> str:
    table, pk = _user_table()
    selected, join = _selected(along, with_user=with_user, header=header)
    return f"SELECT {selected} FROM {table}{join} WHERE {table}.{pk} = %s"


def _user_table() -> tuple[str, str]:
    meta, quote = get_user_model()._meta, connection.ops.quote_name
    return quote(meta.db_table), quote(meta.pk.column)


def _selected(
    along: tuple[str, str] | None, *, with_user: bool, header: tuple[str, ...]
) -> tuple[str, str]:
    model = get_user_model()
    table, pk = _user_table()
    selected = [columns(model, table)] if with_user else []  # named by table: the join's too
    selected += [value.replace("{user}", f"{table}.{pk}") for value in header]
    join = ""
    if along:
        select, joined = along
        selected.append(select.replace("{user}", f"{table}.{pk}"))
        join = " " + joined.replace("{user}", f"{table}.{pk}") if joined else ""
    return ", ".join(selected), join


@dataclass
class _WithSession:
    """A user being read (:func:`session_with_user`): the session's read reads them too."""

    user_id: object = None  # the session row's user column
    row: tuple | None = None  # what get_user reads: the user's columns, the header's, along's
    header: dict[str, tuple[str, list]] | None = None  # the header's values in ``row``
    read: bool = False


_WITH_SESSION: ContextVar[_WithSession | None] = ContextVar("user_read_with_session", default=None)


@contextmanager
def session_with_user() -> Iterator[None]:
    """While a request's user is read: the session, if not loaded yet, is read in the
    statement that reads the user (:func:`read_session`), one round trip where there were two
    (about a fifth of a stored page's cost)."""
    token = _WITH_SESSION.set(_WithSession())
    try:
        yield
    finally:
        _WITH_SESSION.reset(token)


def read_session(key: str, now) -> tuple[str, str | None] | None:
    """The session ``key``'s data (encoded) and the content version, or None for no session
    unexpired under that key (apps.accounts.sessions). While a user is read
    (:func:`session_with_user`), the same statement reads the user the session's row names, with
    everything :meth:`UserBackend.get_user` would read, and keeps it for it."""
    pending = _WITH_SESSION.get()
    if pending is None or pending.read:
        row = fetch_one(_session_text(connection.vendor), [caching.VERSION_STAMP, key, now])
        return None if row is None else (row[0], row[1])
    header, along = _header(), _ALONG.get()
    sql = _session_text(
        connection.vendor, _shape(along), tuple(sql for sql, _ in header.values()), with_user=True
    )
    params = [caching.VERSION_STAMP, *_params(header, along), key, now]
    row = fetch_one(sql, params)
    pending.read = True
    if row is None:
        return None
    pending.user_id, pending.row, pending.header = row[2], tuple(row[3:]), header
    return row[0], row[1]


@functools.lru_cache(maxsize=128)
def _session_text(
    vendor: str,
    along: tuple[str, str] | None = None,
    header: tuple[str, ...] = (),
    *,
    with_user: bool = False,
) -> str:
    """The statement that reads a session's data and the content version; ``with_user``, also
    the user its row names, with ``header``'s values and ``along``'s (:func:`read_session`)."""
    from apps.accounts.models import Session

    quote = connection.ops.quote_name
    session = quote(Session._meta.db_table)
    version = f"(SELECT value FROM {quote(Stamp._meta.db_table)} WHERE name = %s)"
    if not with_user:
        return (
            f"SELECT session_data, {version} FROM {session}"
            " WHERE session_key = %s AND expire_date > %s"
        )
    table, pk = _user_table()
    selected, join = _selected(along, with_user=True, header=header)
    return (
        f"SELECT {session}.session_data, {version}, {session}.user_id, {selected}"
        f" FROM {session} LEFT JOIN {table} ON {table}.{pk} = {session}.user_id{join}"
        f" WHERE {session}.session_key = %s AND {session}.expire_date > %s"
    )


def _header() -> dict[str, tuple[str, list]]:
    """What a page's header shows of its user, when a page is read (:data:`FOR_PAGE`)."""
    return caching.user_values() if FOR_PAGE.get() else {}


def _params(header: dict[str, tuple[str, list]], along: _Along | None) -> list:
    return [param for _, params in header.values() for param in params] + (
        along.params if along else []
    )


def stored_username(typed: str) -> str:
    """The username as stored for one typed in any case ("ALICE" for "alice"): sign-up refuses
    a name that differs from an existing one only in case, so sign-in ignores case too. Two
    older accounts whose names differ only in case are each reached by their exact name."""
    names = get_user_model()._default_manager.filter(username__iexact=typed)
    found = list(names.values_list("username", flat=True)[:2])
    return found[0] if len(found) == 1 else typed


class UserBackend(ModelBackend):
    """Signs people in as ModelBackend does; reads the signed-in user by one raw SELECT.

    settings.AUTHENTICATION_BACKENDS lists ModelBackend after this one only so that sessions
    made before it keep working: a failed sign-in stops here rather than hashing the password
    a second time there.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = stored_username(username)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None and password is not None:
            raise PermissionDenied  # ends authenticate(): ModelBackend would repeat this work
        return user

    def get_user(self, user_id):
        model = get_user_model()
        along = _ALONG.get()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        pending = _WITH_SESSION.get()
        if pending is not None and pending.row and pending.user_id == pk:
            header, row = pending.header, pending.row  # read with the session (read_session)
            if row[model._meta.concrete_fields.index(model._meta.pk)] is None:
                return None  # the session names a user who is no more
        else:
            header = _header()
            sql = _select(along, with_user=True, header=tuple(sql for sql, _ in header.values()))
            row = fetch_one(sql, [*_params(header, along), pk])
        if row is None:
            return None
        user = instance_from(model, row[: width(model)])
        if not self.user_can_authenticate(user):
            return None
        after = width(model) + len(header)
        # What the header shows of them, for its fills (apps.core.caching.hole).
        user.read_for_page = dict(zip(header, row[width(model) : after], strict=True))
        if along:
            along.row, along.read = tuple(row[after:]), True
        return user
