from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def refreshed_as_of_now(apps, schema_editor):
    # Existing docs were indexed and snapshotted inline when they were saved.
    apps.get_model("designdocs", "DesignDoc").objects.update(refreshed_at=F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [("designdocs", "0004_diagram")]

    operations = [
        migrations.AddField(
            model_name="designdoc",
            name="refresh_pending",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="designdoc",
            name="refreshed_at",
            field=models.DateTimeField(default=timezone.now, editable=False),
        ),
        migrations.RunPython(refreshed_as_of_now, migrations.RunPython.noop, elidable=True),
    ]
