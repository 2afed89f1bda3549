"""PostgreSQL only: the summary's vector indexed for every entry, for a signed-in reader's own
docs (0005's index holds the public entries only): found through the owner index alone, each
doc's summary, up to 10,000 characters of its problem, was parsed on every search (9 ms of a
search for a reader with 100 docs)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_entry_summary_gin ON search_entry "
            "USING gin (to_tsvector('english'::regconfig, summary))"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_entry_summary_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0005_summary_vector_index")]

    operations = [migrations.RunPython(forward, backward)]
