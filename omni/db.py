"""Database helpers every app shares.

`insert_unless_conflict` is the one-statement form of "create it unless it exists":
`INSERT ... ON CONFLICT DO NOTHING RETURNING id`. Inside a transaction, `get_or_create` and
"`create` in a nested `atomic()`, catch IntegrityError" cost a SAVEPOINT and a RELEASE around
every insert (four or five round trips); this costs one, and a concurrent insert of the same
row still waits for the other transaction, like a plain INSERT does.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery


def insert_unless_conflict(instance: Model) -> bool:
    """Insert `instance` unless a unique constraint already holds an equal row.

    Returns True when the row was written (its primary key, and `auto_now_add` fields, are set
    on `instance`), False when a row already held the unique value: the caller reads that one.
    Any unique constraint of the table counts, as with ON CONFLICT DO NOTHING.
    """
    statement, params = insert_unless_conflict_sql(instance)
    with connections[instance._state.db or DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return False
    inserted(instance, pk=row[0])
    return True


def insert_unless_conflict_sql(instance: Model) -> tuple[str, tuple]:
    """The `INSERT ... ON CONFLICT DO NOTHING RETURNING <pk>` of `instance`, and its parameters,
    to run alone or as a CTE of a bigger statement (then call `inserted` with the new key)."""
    model = type(instance)
    meta = model._meta
    instance._state.db = router.db_for_write(model, instance=instance)
    instance._prepare_related_fields_for_save(operation_name="insert")
    fields = [
        field
        for field in meta.concrete_fields
        if not field.generated and not (field is meta.pk and instance.pk is None)
    ]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(using=instance._state.db)
    compiler.returning_fields = [meta.pk]
    return compiler.as_sql()[0]


def inserted(instance: Model, *, pk: object) -> None:
    """Mark `instance` as the saved row `pk` (after `insert_unless_conflict_sql` wrote it)."""
    instance.pk = pk
    instance._state.adding = False
