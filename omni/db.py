"""Database helpers every app shares.

`insert_unless_conflict` is the one-statement form of "create it unless it exists":
`INSERT ... ON CONFLICT DO NOTHING RETURNING id`. Inside a transaction, `get_or_create` and
"`create` in a nested `atomic()`, catch IntegrityError" cost a SAVEPOINT and a RELEASE around
every insert (four or five round trips); this costs one, and a concurrent insert of the same
row still waits for the other transaction, like a plain INSERT does.

`insert_together` writes the new rows of several models in one statement, and every INSERT
here is compiled once per process and shape, then reused. `model_from_row` turns a hand-written
statement's row into an instance, with the fields' own conversions.

What they gain, measured end to end by bench/checkout.py (`--without NAME`: the same
checkouts served with and without, alternating in one run; 2-core machine, 2026-12-07):
the compiled INSERT shapes 1.15x checkouts per second (rounds 1.07-1.36), one statement for
several models' rows instead of a bulk_create per model 1.14x (rounds 0.96-1.32). Shortcuts
whose gain stayed within the noise were removed: an UPDATE by key written once (0.97x, 1.03x),
API lookups compiled once (1.05x, 1.06x, rounds 0.86-1.23), a module-level output serializer
(1.08x, 1.06x, rounds 0.84-1.31). The Django internals still used (`InsertQuery.insert_values`,
`compiler.returning_fields`, `_prepare_related_fields_for_save`) are pinned by
tests/omni/test_django_internals.py, and every process cache is keyed by database alias.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Field, Model
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
    instance._state.db = router.db_for_write(model, instance=instance)
    instance._prepare_related_fields_for_save(operation_name="insert")
    return _insert_sql([instance], OnConflict.IGNORE, instance._state.db)


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
    parts, params, wanted = [], [], []
    for index, rows in enumerate(groups):
        if not rows:
            wanted.append(0)
            continue
        model = type(rows[0])
        alias = router.db_for_write(model, instance=rows[0])
        for row in rows:
            row._state.db = alias
            row._prepare_related_fields_for_save(operation_name="bulk_create")
        conflict = OnConflict.IGNORE if index in ignore_conflicts else None
        sql, group_params = _insert_sql(rows, conflict, alias)
        parts.append((index, f"g{index} AS ({sql})", model._meta.pk.column))
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


# --- compiled INSERT statements ----------------------------------------------------------------
#
# Compiling an INSERT through the ORM (InsertQuery, then SQLInsertCompiler.as_sql) cost more CPU
# than PostgreSQL took to run it: about a third of the checkout's writes (bench/checkout.py). Its
# text depends only on the model, the columns, one row or several, and ON CONFLICT, so each such
# shape is compiled once per process and its values prepared as the compiler does (`pre_save`,
# then `get_db_prep_save`). A shape's text is reused only once the compiler's own parameters for
# it came out equal to ours, laid out one per value or (several rows, `INSERT ...
# SELECT * FROM UNNEST(...)`) one array per column; an expression value always goes to the
# compiler.

_FLAT, _COLUMNS = "flat", "columns"
_SHAPES: dict[tuple, tuple[str, str] | None] = {}
_SHAPES_LOCK = threading.Lock()


def _insert_sql(
    rows: Sequence[Model], on_conflict: OnConflict | None, alias: str
) -> tuple[str, tuple]:
    """The `INSERT ... RETURNING <pk>` of `rows` (unsaved instances of one model, their related
    fields prepared) and its parameters: from the shape's compiled text, or from the compiler."""
    model = type(rows[0])
    meta = model._meta
    with_pk = rows[0].pk is not None
    fields = tuple(
        field
        for field in meta.concrete_fields
        if not field.generated and (with_pk or field is not meta.pk)
    )
    connection = connections[alias]
    # pre_save once per value, as the compiler does: it stamps auto_now_add fields on the row.
    raw = [[field.pre_save(row, add=True) for field in fields] for row in rows]
    key = (model, fields, len(rows) > 1, on_conflict, alias)
    shape = _SHAPES.get(key)
    if shape is not None:
        sql, layout = shape
        return sql, _laid_out(_prepared(fields, raw, connection), layout)
    query = InsertQuery(model, on_conflict=on_conflict)
    query.insert_values(list(fields), rows, raw=True)  # raw: the values pre_save already set
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    if key not in _SHAPES and not _has_expression(raw):
        values = _prepared(fields, raw, connection)
        layout = next(
            (way for way in (_FLAT, _COLUMNS) if _same(_laid_out(values, way), params)), None
        )
        with _SHAPES_LOCK:
            _SHAPES.setdefault(key, None if layout is None else (sql, layout))
    return sql, params


def _has_expression(raw: list[list]) -> bool:
    return any(hasattr(value, "resolve_expression") for values in raw for value in values)


def _prepared(fields: Sequence[Field], raw: list[list], connection) -> list[list]:
    return [
        [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(fields, values, strict=True)
        ]
        for values in raw
    ]


def _laid_out(values: list[list], layout: str) -> tuple:
    if layout == _COLUMNS:
        return tuple(list(column) for column in zip(*values, strict=True))
    return tuple(value for row in values for value in row)


def _same(ours: tuple, theirs: tuple) -> bool:
    """Equal parameters, value by value and type by type."""
    try:
        return len(ours) == len(theirs) and all(
            type(a) is type(b) and a == b for a, b in zip(ours, theirs, strict=True)
        )
    except Exception:  # a value that cannot be compared: that shape is compiled every time
        return False


# --- rows of hand-written statements -----------------------------------------------------------

_CONVERTERS: dict[tuple, list[tuple[int, list, object]]] = {}
_M = TypeVar("_M", bound=Model)


def model_from_row(model: type[_M], alias: str, names: Sequence[str], values) -> _M:
    """`model.from_db` of a row a hand-written statement read (its columns the fields' `names`,
    attnames), converted as the ORM converts what it reads: the backend's converters, then the
    fields' own (JSON text to objects...)."""
    connection = connections[alias]
    key = (model, tuple(names), alias)
    converting = _CONVERTERS.get(key)
    if converting is None:
        fields = {field.attname: field for field in model._meta.concrete_fields}
        converting = []
        for position, name in enumerate(names):
            column = fields[name].get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(column)
            functions += column.get_db_converters(connection)
            if functions:
                converting.append((position, functions, column))
        _CONVERTERS[key] = converting
    if converting:
        values = list(values)
        for position, functions, column in converting:
            for function in functions:
                values[position] = function(values[position], column, connection)
    return model.from_db(alias, names, values)
