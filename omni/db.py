"""Database helpers every app shares.

`insert_unless_conflict` is the one-statement form of "create it unless it exists":
`INSERT ... ON CONFLICT DO NOTHING RETURNING id`. Inside a transaction, `get_or_create` and
"`create` in a nested `atomic()`, catch IntegrityError" cost a SAVEPOINT and a RELEASE around
every insert (four or five round trips); this costs one, and a concurrent insert of the same
row still waits for the other transaction, like a plain INSERT does.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def insert_together(*groups: Sequence[Model], ignore_conflicts: Sequence[int] = ()) -> list[int]:
    """Insert every row of every group (a list of unsaved instances of one model) in ONE
    statement, and set their primary keys: `WITH g0 AS (INSERT ... RETURNING pk), g1 AS (...)
    SELECT ... UNION ALL ...`. Rows of a later group may point at rows of an earlier one whose
    keys are already set (foreign keys are checked at the end of the statement).

    A group whose index is in `ignore_conflicts` is inserted with ON CONFLICT DO NOTHING.
    Returns how many rows of each group were written (fewer than given only there; its
    instances then keep no key: give such a group a single row). One round trip for what
    `bulk_create` per model does in several, without its per-call overhead.
    """
    if groups and connections[_alias_of(groups)].vendor != "postgresql":
        return _insert_each(groups, ignore_conflicts)
    parts, params, wanted = [], [], []
    for index, rows in enumerate(groups):
        if not rows:
            wanted.append(0)
            continue
        model = type(rows[0])
        meta = model._meta
        alias = router.db_for_write(model, instance=rows[0])
        with_pk = rows[0].pk is not None
        fields = [
            field
            for field in meta.concrete_fields
            if not field.generated and (with_pk or field is not meta.pk)
        ]
        for row in rows:
            row._state.db = alias
            row._prepare_related_fields_for_save(operation_name="bulk_create")
        query = InsertQuery(
            model, on_conflict=OnConflict.IGNORE if index in ignore_conflicts else None
        )
        query.insert_values(fields, rows)
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = [meta.pk]
        ((sql, group_params),) = compiler.as_sql()
        parts.append((index, f"g{index} AS ({sql})", meta.pk.column))
        params.extend(group_params)
        wanted.append(len(rows))
    if not parts:
        return wanted
    connection = connections[alias]
    quote = connection.ops.quote_name
    statement = "WITH {} {}".format(
        ", ".join(cte for _, cte, _ in parts),
        " UNION ALL ".join(f"SELECT {i}, {quote(column)} FROM g{i}" for i, _, column in parts),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        result = cursor.fetchall()
    keys: dict[int, list] = {}
    for index, pk in result:
        keys.setdefault(index, []).append(pk)
    written = []
    for index, rows in enumerate(groups):
        got = keys.get(index, [])
        if len(got) == len(rows):
            for row, pk in zip(rows, got, strict=True):
                inserted(row, pk=pk)
        written.append(len(got))
    return written


def _alias_of(groups: Sequence[Sequence[Model]]) -> str:
    first = next((rows[0] for rows in groups if rows), None)
    return DEFAULT_DB_ALIAS if first is None else router.db_for_write(type(first), instance=first)


def _insert_each(groups: Sequence[Sequence[Model]], ignore_conflicts: Sequence[int]) -> list[int]:
    """`insert_together` group by group, for SQLite (`make run`): it has no INSERT inside WITH.
    `bulk_create` sets the keys there (RETURNING, SQLite 3.35+); a group that ignores conflicts
    goes row by row with `insert_unless_conflict` (it usually holds one)."""
    written = []
    for index, rows in enumerate(groups):
        if index in ignore_conflicts:
            written.append(sum(insert_unless_conflict(row) for row in rows))
        else:
            if rows:
                type(rows[0])._default_manager.bulk_create(rows)
            written.append(len(rows))
    return written
