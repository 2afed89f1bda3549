"""Every unexpired session of Django's table moves to ours, with the user it signs in: the
deploy that brings the new table signs nobody out."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import migrations
from django.utils import timezone


def keep_sessions(apps, schema_editor):
    old = apps.get_model("sessions", "Session")
    new = apps.get_model("accounts", "Session")
    decoder, batch = SessionStore(), []
    for key, data, expires in (
        old.objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data", "expire_date")
        .iterator(chunk_size=1000)
    ):
        user = decoder.decode(data).get(SESSION_KEY)  # {} for data that does not verify
        user_id = int(user) if isinstance(user, str) and user.isdecimal() else None
        batch.append(new(session_key=key, session_data=data, expire_date=expires, user_id=user_id))
        if len(batch) == 1000:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_session"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(keep_sessions, migrations.RunPython.noop)]
