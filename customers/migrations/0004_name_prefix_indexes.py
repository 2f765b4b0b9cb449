"""Prefix indexes for the name search (customers/selectors.py: _name_prefixes).

Django writes `istartswith` as UPPER("column"::text) LIKE UPPER(%s) with a trailing %: a btree on
that expression with text_pattern_ops serves it whatever the database collation. The composite
(last name, first name) index serves "last name starts with X and first name with Y", the usual
full-name search; the first-name index serves a search by first name alone. PostgreSQL only, like
0003: the SQLite demo scans.
"""

from django.db import migrations

INDEXES = {
    "customer_last_first_prefix": (
        '(UPPER("last_name"::text) text_pattern_ops, UPPER("first_name"::text) text_pattern_ops)'
    ),
    "customer_first_prefix": '(UPPER("first_name"::text) text_pattern_ops)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "customers_customer" {expression}'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_search_indexes"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
