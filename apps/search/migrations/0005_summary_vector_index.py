"""PostgreSQL only: GIN indexes on the summary as its own vector, from which search takes every
page whose summary matches as a candidate, besides the capped mentions. The public entries'
(every anonymous search) and everyone's, for a reader's own docs: found through the owner
index alone, each doc's summary, up to 10,000 characters of its problem, was parsed on every
search (9 ms of a search for a reader with 100 docs)."""

from django.db import migrations

VECTOR = "to_tsvector('english'::regconfig, summary)"
INDEXES = {
    "search_entry_public_summary_gin": "WHERE owner_id IS NULL",
    "search_entry_summary_gin": "",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, where in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON search_entry USING gin ({VECTOR}) {where}"
            )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_public_vector_index")]

    operations = [migrations.RunPython(forward, backward)]
