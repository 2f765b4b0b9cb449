"""The Django internals Omni's hot paths still lean on, pinned in one place.

`omni/db.py` compiles INSERT statements through `InsertQuery` (once per shape), prepares related
fields as `save()` does, and reads a queryset's query to compile a lookup once; the checkout
(orders/services/checkout.py, `_prefetched`) fills a new order's related managers as
`prefetch_related` would. None of these is public API: a Django upgrade may change them without
a deprecation. Each test below states one assumption; when an upgrade breaks one, it fails here,
naming the internal and the code that uses it, before any behaviour test fails somewhere else.
bench/checkout.py measures what each shortcut gains (`--without NAME`).
"""

from __future__ import annotations

import inspect

import django
from django.db import connection
from django.db.models import QuerySet
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLInsertCompiler

from orders.models import Order, OrderLine
from orders.services.checkout import _prefetched

# Checked against this release series: an upgrade re-reads this file and bumps it.
PINNED = (5, 2)


def test_django_is_the_release_series_these_internals_were_checked_against():
    assert django.VERSION[:2] == PINNED, (
        f"Django {django.get_version()}: re-check every internal in this file, then bump PINNED"
    )


def test_insert_query_takes_fields_rows_and_raw_and_its_compiler_returns_the_key():
    """omni.db._insert_sql: `InsertQuery(model, on_conflict=...)`, `insert_values(fields, objs,
    raw=True)`, then `compiler.returning_fields = [pk]` before `as_sql()`."""
    assert list(inspect.signature(InsertQuery.insert_values).parameters) == [
        "self",
        "fields",
        "objs",
        "raw",
    ]
    assert "on_conflict" in inspect.signature(InsertQuery.__init__).parameters
    assert "returning_fields" in inspect.getsource(SQLInsertCompiler.as_sql)

    fields = [Order._meta.get_field("number")]
    query = InsertQuery(Order, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [Order(number="X1")], raw=False)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [Order._meta.pk]
    ((sql, params),) = compiler.as_sql()

    assert "ON CONFLICT DO NOTHING" in sql
    assert sql.endswith('RETURNING "orders_order"."id"')
    assert params == ("X1",)


def test_related_fields_are_prepared_for_save_by_operation_name():
    """omni.db.insert_unless_conflict_sql and insert_together call
    `Model._prepare_related_fields_for_save(operation_name=...)`, as `save()` and `bulk_create()`
    do, so an unsaved related object is refused and a saved one's key is copied."""
    parameters = inspect.signature(OrderLine._prepare_related_fields_for_save).parameters
    assert list(parameters)[:2] == ["self", "operation_name"]


def test_a_related_manager_reads_a_filled_prefetch_cache_without_a_query(
    db, django_assert_num_queries
):
    """orders/services/checkout.py `_prefetched` sets `_result_cache` and `_prefetch_done` on
    the related manager's queryset and stores it in `_prefetched_objects_cache`, as
    `prefetch_related_objects` does; `.all()` must then answer from it, and `.filter()` still
    ask the database."""
    assert {"_result_cache", "_prefetch_done"} <= set(vars(QuerySet(model=Order)))
    order = Order(pk=1, number="PIN-1")
    line = OrderLine(pk=7, order=order, sku="PIN", name="Pin", quantity=1)

    _prefetched(order, lines=[line])

    with django_assert_num_queries(0):
        assert list(order.lines.all()) == [line]
    with django_assert_num_queries(1):
        assert list(order.lines.filter(sku="PIN")) == []
