"""PostgreSQL only: a GIN index on each public entry's summary as its own vector, from which
search takes every page whose summary matches as a candidate, besides the capped mentions (a
reader's own docs are few: their summaries are read through the owner index)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_entry_public_summary_gin ON search_entry "
            "USING gin (to_tsvector('english'::regconfig, summary)) WHERE owner_id IS NULL"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_entry_public_summary_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_public_vector_index")]

    operations = [migrations.RunPython(forward, backward)]
