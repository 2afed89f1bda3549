"""Django's ModelBackend, with the user of each signed-in request read by a hand-written query.

Every signed-in request loads its user. The ORM's building and compiling of that one primary-key
lookup cost about three times what running it does (see apps.core.sql), on every page, autosave
and flashcard. :func:`apps.core.sql.fetch_instance` sends the same SELECT without the build and
still converts the columns for the database in use.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest

from apps.core.sql import columns, fetch_instance, fetch_one


@dataclass
class _Along:
    expression: str  # one SQL value; "{user}" stands for the user row's id column
    params: list
    value: object = None
    read: bool = False


_ALONG: ContextVar[_Along | None] = ContextVar("read_along_with_the_user", default=None)


def user_and(request: HttpRequest, expression: str, params: list) -> tuple[object, object]:
    """``request.user`` and the value of ``expression`` for them, in one statement when the
    user has not been read yet in this request (a stored page's state: one round trip to the
    database fewer on each signed-in page, about a tenth of its cost).

    ``expression`` is one SQL value in which ``{user}`` stands for the user's id column (a
    correlated subquery, say), with ``params`` for its placeholders. Who the user is stays
    Django's to decide (django.contrib.auth.get_user: the session, its backend, the session
    hash): the value is kept only for the user it decided on. The value is None when nobody
    is signed in."""
    along = _Along(expression, list(params))
    token = _ALONG.set(along)
    try:
        user = request.user
        signed_in = user.is_authenticated  # reads the user now, if not read yet
    finally:
        _ALONG.reset(token)
    if not signed_in:
        return user, None
    if along.read:
        return user, along.value
    row = fetch_one(_select(expression, with_user=False), [*params, user.pk])
    return user, row[0] if row else None


def _select(expression: str, *, with_user: bool) -> str:
    model = get_user_model()
    meta, quote = model._meta, connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    selected = [columns(model)] if with_user else []
    if expression:
        selected.append(expression.replace("{user}", f"{table}.{pk}"))
    return f"SELECT {', '.join(selected)} FROM {table} WHERE {table}.{pk} = %s"


class UserBackend(ModelBackend):
    """Signs people in as ModelBackend does; reads the signed-in user by one raw SELECT.

    settings.AUTHENTICATION_BACKENDS lists ModelBackend after this one only so that sessions
    made before it keep working: a failed sign-in stops here rather than hashing the password
    a second time there.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None and password is not None:
            raise PermissionDenied  # ends authenticate(): ModelBackend would repeat this work
        return user

    def get_user(self, user_id):
        model = get_user_model()
        along = _ALONG.get()
        expression, params = (along.expression, along.params) if along else ("", [])
        extra = ["_read_along"] if along else []
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        user = fetch_instance(model, _select(expression, with_user=True), [*params, pk], extra)
        if user is None or not self.user_can_authenticate(user):
            return None
        if along:
            along.value, along.read = user.__dict__.pop("_read_along"), True
        return user
