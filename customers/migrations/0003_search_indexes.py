"""Search indexes for the customer search screen (customers/selectors.py: customer_search).

PostgreSQL only: trigram GIN indexes serve `icontains` on names and email, whose SQL Django writes
as UPPER("column"::text) LIKE UPPER(%s), so the indexes are on that very expression. SQLite (the
`make run` demo) gets nothing and searches by scanning, which is fine at demo sizes. Phone and card
need no index here: their unique constraints are btree indexes, and the search matches them
exactly after normalising the query.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = {
    "customer_first_name_trgm": "first_name",
    "customer_last_name_trgm": "last_name",
    "customer_email_trgm": "email",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in COLUMNS.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "customers_customer" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_profiles_consents_privacy"),
    ]

    operations = [
        # CreateExtension does nothing on other databases.
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
