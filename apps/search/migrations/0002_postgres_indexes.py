"""PostgreSQL only: pg_trgm, a GIN index on the stored search vector, a trigram index on names.

SQLite has neither, and the search code falls back to word matching there.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS search_entry_vector_gin ON search_entry USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS search_entry_names_trgm ON search_entry "
    "USING gin (names gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS search_entry_names_trgm",
    "DROP INDEX IF EXISTS search_entry_vector_gin",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
