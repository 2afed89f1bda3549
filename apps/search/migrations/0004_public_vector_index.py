"""PostgreSQL only: a GIN index on the search vectors of public entries (owner IS NULL),
which is every anonymous search; signed-in searches add their own docs through the full one."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_entry_public_vector_gin ON search_entry "
            "USING gin (search_vector) WHERE owner_id IS NULL"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_entry_public_vector_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0003_problem_kind")]

    operations = [migrations.RunPython(forward, backward)]
