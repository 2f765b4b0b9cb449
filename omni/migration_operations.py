"""Migration operations Django has no form for.

`InPlaceOnPostgreSQL` changes indexes and constraints of large, busy tables (orders, the stock
ledger) without rebuilding them. Django's own operations drop and re-create: an AlterField from
`unique=True` to a UniqueConstraint builds a new unique index, and one from `db_index=True` to
False drops the foreign key and adds it back, which re-checks every row. Both hold the table's
lock meanwhile, and a retailer's orders table would stop taking checkouts for that long.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import SeparateDatabaseAndState


class InPlaceOnPostgreSQL(SeparateDatabaseAndState):
    """`operations`, as Django runs them, except on PostgreSQL: there `sql` reaches the same
    schema in place (renames, DROP INDEX), and `reverse_sql` the one before.

    The model state is always the operations' own, so `makemigrations` sees no difference.
    Other databases (SQLite for `make run`) run the operations themselves.
    """

    def __init__(
        self, operations: Sequence[Operation], sql: Sequence[str], reverse_sql: Sequence[str]
    ):
        super().__init__(database_operations=list(operations), state_operations=list(operations))
        self.sql = list(sql)
        self.reverse_sql = list(reverse_sql)

    def deconstruct(self):
        kwargs = {"operations": self.state_operations, "sql": self.sql}
        kwargs["reverse_sql"] = self.reverse_sql
        return (self.__class__.__qualname__, [], kwargs)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            for statement in self.sql:
                schema_editor.execute(statement)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            for statement in self.reverse_sql:
                schema_editor.execute(statement)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return "Indexes and constraints changed in place on PostgreSQL"
