"""Every INSERT written out (omni.db `Insert`) lists each column its model stores, once, with
the column's type: a migration that adds, drops or retypes a column fails here, naming the
statement, before a hot path writes a row without it."""

from __future__ import annotations

import pytest
from django.db import connection

# Importing the hot paths declares their statements.
from customers.services import loyalty
from inventory.services import _ledger
from omni.db import Insert
from orders.services import checkout, idempotency, notifications

MODULES = (checkout, notifications, idempotency, _ledger, loyalty)
STATEMENTS = [
    (f"{module.__name__}.{name}", value)
    for module in MODULES
    for name, value in vars(module).items()
    if isinstance(value, Insert) and name.isupper()
]
# What PostgreSQL calls the types the statements cast to.
ALIASES = {"timestamptz": "timestamp with time zone"}


def test_the_hot_paths_declare_their_statements():
    assert {name.rsplit(".", 1)[1] for name, _ in STATEMENTS} == {
        "ORDER",
        "ORDER_LINES",
        "FULFILMENTS",
        "PAYMENT",
        "FULFILMENT_LINES",
        "TRANSITIONS",
        "NOTIFICATION",
        "CHECKOUT_REQUEST",
        "MOVEMENTS",
        "RESERVATIONS",
        "MOVEMENT",
    }


@pytest.mark.parametrize(("name", "statement"), STATEMENTS, ids=[n for n, _ in STATEMENTS])
def test_a_statement_lists_every_stored_column_of_its_model_once(name, statement):
    meta = statement.model._meta
    stored = [
        field.column
        for field in meta.get_fields()
        if getattr(field, "concrete", False) and not field.generated
    ]
    expected = [
        column for column in stored if column != meta.pk.column or column in statement.columns
    ]
    assert len(set(statement.columns)) == len(statement.columns), f"{name}: a column twice"
    assert sorted(statement.columns) == sorted(expected), (
        f"{name}: missing {sorted(set(expected) - set(statement.columns))}, "
        f"unknown {sorted(set(statement.columns) - set(expected))}"
    )
    assert statement.returning == meta.pk.column


@pytest.mark.parametrize(
    ("name", "statement"),
    [(n, s) for n, s in STATEMENTS if s.many],
    ids=[n for n, s in STATEMENTS if s.many],
)
def test_an_unnest_statement_casts_each_column_to_its_type(name, statement):
    for column, field, cast in zip(
        statement.columns, statement.fields, statement.types, strict=True
    ):
        db_type = field.db_type(connection).split("(")[0]
        assert ALIASES.get(cast, cast) == db_type, f"{name}: {column} is {db_type}, not {cast}"
