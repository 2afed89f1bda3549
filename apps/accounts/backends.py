"""Django's ModelBackend, with the user of each signed-in request read by a hand-written query.

Every signed-in request loads its user. The ORM's building and compiling of that one primary-key
lookup cost about three times what running it does (see apps.core.sql), on every page, autosave
and flashcard. :func:`apps.core.sql.fetch_instance` sends the same SELECT without the build and
still converts the columns for the database in use.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from apps.core.sql import columns, fetch_instance


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
        meta, quote = model._meta, connection.ops.quote_name
        sql = (
            f"SELECT {columns(model)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.pk.column)} = %s"
        )
        try:
            user = fetch_instance(model, sql, [meta.pk.to_python(user_id)])
        except ValidationError:
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
