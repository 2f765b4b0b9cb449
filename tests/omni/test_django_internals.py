"""The Django internals Omni's hot paths still lean on, pinned in one place.

One is left: the checkout (orders/services/checkout.py, `_prefetched`) fills a new order's
related managers as `prefetch_related` would. It is not public API: a Django upgrade may change
it without a deprecation. Each test below states one assumption; when an upgrade breaks one, it
fails here, naming the internal and the code that uses it, before any behaviour test fails
somewhere else. bench/checkout.py measures what the shortcut gains (`--without prefetched`).
The INSERT statements are written out (omni.db `Insert`, over the fields' public API) and
checked against their models by tests/omni/test_statements.py.
"""

from __future__ import annotations

import django
from django.db.models import QuerySet

from orders.models import Order, OrderLine
from orders.services.checkout import _prefetched

# Checked against this release series: an upgrade re-reads this file and bumps it.
PINNED = (5, 2)


def test_django_is_the_release_series_these_internals_were_checked_against():
    assert django.VERSION[:2] == PINNED, (
        f"Django {django.get_version()}: re-check every internal in this file, then bump PINNED"
    )


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


def test_a_values_query_compiles_to_its_select_and_names_its_columns(db):
    """campaigns/services/materialise.py `_insert` and automations.py `_insert_enrolments`
    write `INSERT INTO ... SELECT` from a queryset: `query.get_compiler(connection=...)`,
    `as_sql()`, and `compiler.select` as (expression, sql, alias) triples in the SELECT's
    column order, read after `as_sql()`."""
    from django.db import connection
    from django.db.models import F, Value

    selected = Order.objects.order_by().annotate(x_b=Value(1), x_a=F("number")).values("x_b", "x_a")
    compiler = selected.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()

    assert sql.startswith("SELECT ")
    assert [alias for _expression, _sql, alias in compiler.select] == ["x_b", "x_a"]
    assert list(params) == [1]
