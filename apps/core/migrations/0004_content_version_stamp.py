"""The content version, kept in the database too (apps.core.caching.bump_content_version)."""

import secrets

from django.db import migrations


def stamp(apps, schema_editor):
    Stamp = apps.get_model("core", "Stamp")
    Stamp.objects.update_or_create(name="content-version", defaults={"value": secrets.token_hex(8)})


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_stamp"),
    ]

    operations = [migrations.RunPython(stamp, migrations.RunPython.noop)]
