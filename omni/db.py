"""Database helpers every app shares: INSERT statements written out in the module of the hot
path that runs them, and the rows of hand-written statements turned into instances.

An `Insert` is one statement's literal SQL text (`INSERT INTO <table> (<columns>) VALUES (...)`
for one row, `... SELECT * FROM unnest(%s::<type>[], ...)` for several), declared as a named
constant next to the service that writes those rows. Its values are read from unsaved instances
through the fields' public API (`pre_save`, which stamps `auto_now_add`, then
`get_db_prep_save`), and its `RETURNING id` sets their keys. tests/omni/test_statements.py checks
every declared statement against its model (each concrete column listed once, with its type), so
a migration that adds a column fails there, naming the statement, and not in production.

`insert_together` runs several of them as one statement (`WITH g0 AS (INSERT ...), ...`);
`insert_unless_conflict` is the one-statement form of "create it unless it exists" (`INSERT ...
ON CONFLICT DO NOTHING RETURNING id`): inside a transaction, `get_or_create` and "`create` in a
nested `atomic()`, catch IntegrityError" cost a SAVEPOINT and a RELEASE around every insert, and
a concurrent insert of the same row still waits for the other transaction, like a plain INSERT.

What they gain, measured end to end by bench/checkout.py (`--without statements`: the same
checkouts written with and without, alternating in one run; 2-core machine): see the docstring
of each hot path's statements (orders/services/checkout.py, inventory/services/_ledger.py).
Earlier shortcuts over Django internals (INSERTs compiled once per shape through
`InsertQuery`, an UPDATE by key, lookups compiled once, a shared serializer) were measured the
same way and removed: the last two gained nothing clear of the noise, the first two are
replaced by these statements.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import TypeVar

from django.db import connections, router
from django.db.models import Field, Model

_M = TypeVar("_M", bound=Model)

_HEAD = re.compile(r"^\s*INSERT INTO (\w+) \(([^)]*)\)\s+(VALUES|SELECT \* FROM unnest)\s*\(", re.S)
_PLACEHOLDER = re.compile(r"%s(?:::(\w[\w ]*?)\[\])?")
_RETURNING = re.compile(r"\bRETURNING (\w+)\s*$")


class Insert:
    """One INSERT statement written out, for rows of `model`: `sql` is its literal text, with
    one `%s` per column (`VALUES`, one row) or one `%s::<type>[]` array per column (`SELECT *
    FROM unnest(...)`, any number of rows), ending in `RETURNING id`; it may say `ON CONFLICT DO
    NOTHING`. Checked when it is declared (table, placeholders, RETURNING) and against the
    model by tests/omni/test_statements.py."""

    def __init__(self, model: type[Model], sql: str) -> None:
        head = _HEAD.match(sql)
        returning = _RETURNING.search(sql)
        if head is None or returning is None:
            raise ValueError(
                f"not an INSERT ... (VALUES | SELECT * FROM unnest) ... RETURNING: {sql}"
            )
        self.model, self.sql = model, " ".join(sql.split())
        self.table = head.group(1)
        self.columns = tuple(column.strip() for column in head.group(2).split(","))
        self.many = head.group(3) != "VALUES"
        self.types = tuple(_PLACEHOLDER.findall(sql))
        self.ignores_conflicts = "ON CONFLICT DO NOTHING" in self.sql
        self.returning = returning.group(1)
        if self.table != model._meta.db_table:
            raise ValueError(f"{sql}: {model.__name__} is stored in {model._meta.db_table}")
        if len(self.types) != len(self.columns) or (self.many and not all(self.types)):
            raise ValueError(f"{sql}: one placeholder per column ({len(self.columns)})")

    def __repr__(self) -> str:
        return f"Insert({self.model.__name__}, {self.sql!r})"

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        by_column = {
            field.column: field
            for field in self.model._meta.get_fields()
            if getattr(field, "concrete", False)
        }
        return tuple(by_column[column] for column in self.columns)

    def params(self, rows: Sequence[Model], alias: str) -> list:
        """The statement's parameters for `rows` (unsaved instances), as `save()` prepares them:
        `pre_save(add=True)` (it stamps `auto_now_add` fields on the row) then
        `get_db_prep_save`. One list per column for an `unnest` statement."""
        if not self.many and len(rows) != 1:
            raise ValueError(f"{self!r} writes one row, not {len(rows)}")
        connection = connections[alias]
        values = [
            [
                field.get_db_prep_save(field.pre_save(row, add=True), connection=connection)
                for field in self.fields
            ]
            for row in rows
        ]
        if self.many:
            return [list(column) for column in zip(*values, strict=True)]
        return values[0]


def insert_unless_conflict(statement: Insert, instance: Model) -> bool:
    """Insert `instance` with `statement` (an `ON CONFLICT DO NOTHING` one) unless a unique
    constraint already holds an equal row.

    Returns True when the row was written (its primary key, and `auto_now_add` fields, are set
    on `instance`), False when a row already held the unique value: the caller reads that one.
    """
    sql, params = insert_unless_conflict_sql(statement, instance)
    alias = _alias(instance)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    inserted(instance, pk=row[0], alias=alias)
    return True


def insert_unless_conflict_sql(statement: Insert, instance: Model) -> tuple[str, list]:
    """`statement` and its parameters for `instance`, to run alone or as a CTE of a bigger
    statement (then call `inserted` with the new key)."""
    if not statement.ignores_conflicts:
        raise ValueError(f"{statement!r} does not say ON CONFLICT DO NOTHING")
    alias = _alias(instance)
    return statement.sql, statement.params([instance], alias)


def inserted(instance: Model, *, pk: object, alias: str | None = None) -> None:
    """Mark `instance` as the saved row `pk` of database `alias` (the routers' choice when not
    given), after its statement wrote it: what `save()` leaves on an instance. The one place Omni
    sets `Model._state`, the documented record of an instance's lifecycle ("Model._state" in
    Django's model instance reference: `adding` and `db`)."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = alias or _alias(instance)


def insert_together(*groups: tuple[Insert, Sequence[Model]]) -> list[int]:
    """Insert every group (a statement and unsaved instances of its model) in ONE statement, and
    set their primary keys: `WITH g0 AS (INSERT ... RETURNING id), g1 AS (...) SELECT ... UNION
    ALL ...`. Rows of a later group may point at rows of an earlier one whose keys are already
    set (foreign keys are checked at the end of the statement).

    Returns how many rows of each group were written: fewer than given only for an `ON CONFLICT
    DO NOTHING` statement, whose instances then keep no key (give such a group a single row).
    One round trip for what `bulk_create` per model does in several.
    """
    parts, params, wanted = [], [], []
    alias = None
    for index, (statement, rows) in enumerate(groups):
        wanted.append(len(rows))
        if not rows:
            continue
        if alias is not None and _alias(*rows) != alias:
            raise ValueError("insert_together writes to one database: its groups are routed apart")
        alias = _alias(*rows)
        parts.append(f"g{index} AS ({statement.sql})")
        params.extend(statement.params(rows, alias))
    if alias is None:
        return wanted
    sql = "WITH {} {}".format(
        ", ".join(parts),
        " UNION ALL ".join(
            f"SELECT {index}, {statement.returning} FROM g{index}"
            for index, (statement, rows) in enumerate(groups)
            if rows
        ),
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall()
    keys: dict[int, list] = {}
    for index, pk in result:
        keys.setdefault(index, []).append(pk)
    written = []
    for index, (_statement, rows) in enumerate(groups):
        got = keys.get(index, [])
        if len(got) == len(rows):
            for row, pk in zip(rows, got, strict=True):
                inserted(row, pk=pk, alias=alias)
        written.append(len(got))
    return written


def _alias(*rows: Model) -> str:
    """The database the rows go to: the routers' choice, as `save()` asks it."""
    return router.db_for_write(type(rows[0]), instance=rows[0])


# --- rows of hand-written statements -----------------------------------------------------------


def model_from_row(model: type[_M], alias: str, names: Sequence[str], values) -> _M:
    """`model.from_db` of a row a hand-written statement read (its columns the fields' `names`,
    attnames), converted as the ORM converts what it reads: each field's `from_db_value` (JSON
    text to objects...)."""
    converting = _converters(model, tuple(names))
    if converting:
        connection = connections[alias]
        values = list(values)
        for position, field in converting:
            values[position] = field.from_db_value(values[position], None, connection)
    return model.from_db(alias, names, values)


_CONVERTING: dict[tuple, list[tuple[int, Field]]] = {}


def _converters(model: type[Model], names: tuple[str, ...]) -> list[tuple[int, Field]]:
    """(position, field) of the `names` whose field converts what the database sent, per model
    and column list (the same for every database: fields, not connections, decide it)."""
    key = (model, names)
    converting = _CONVERTING.get(key)
    if converting is None:
        fields = {
            field.attname: field
            for field in model._meta.get_fields()
            if getattr(field, "concrete", False)
        }
        converting = _CONVERTING[key] = [
            (position, fields[name])
            for position, name in enumerate(names)
            if hasattr(fields[name], "from_db_value")
        ]
    return converting
