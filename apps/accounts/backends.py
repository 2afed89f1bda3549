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

from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest

from apps.core import caching
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


def _select(along: _Along | None, *, with_user: bool, header: list[str] = ()) -> str:
    model = get_user_model()
    meta, quote = model._meta, connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    selected = [columns(model, table)] if with_user else []  # named by table: the join's too
    selected += [value.replace("{user}", f"{table}.{pk}") for value in header]
    join = ""
    if along:
        selected.append(along.select.replace("{user}", f"{table}.{pk}"))
        join = " " + along.join.replace("{user}", f"{table}.{pk}") if along.join else ""
    return f"SELECT {', '.join(selected)} FROM {table}{join} WHERE {table}.{pk} = %s"


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
        header = caching.user_values() if FOR_PAGE.get() else {}
        values = [sql for sql, _ in header.values()]
        params = [param for _, params in header.values() for param in params]
        params += [*(along.params if along else ()), pk]
        row = fetch_one(_select(along, with_user=True, header=values), params)
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
