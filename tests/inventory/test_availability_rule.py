"""The availability rule's forms agree (inventory/availability.py): Python, the ORM expressions
and the hand-written SQL, evaluated by PostgreSQL on the same stock row, for any stock; and the
stock-taking statement itself takes exactly when the Python rule says it can."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.availability import (
    Channel,
    available_expression,
    can_take,
    free_expression,
    free_sql,
    free_units,
    take_condition_sql,
    units_available,
)
from inventory.exceptions import InsufficientStock
from inventory.models import Location, MovementKind, StockLevel
from inventory.services._ledger import take_free

from .factories import StockLevelFactory, StoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def level():
    return StockLevelFactory(variant=VariantFactory(), location=StoreFactory(), on_hand=0)


stock = st.integers(min_value=0, max_value=10_000).flatmap(
    lambda on_hand: st.fixed_dictionaries(
        {
            "on_hand": st.just(on_hand),
            "reserved": st.integers(min_value=0, max_value=on_hand),
            "pickup": st.integers(min_value=0, max_value=200),
            "delivery": st.integers(min_value=0, max_value=200),
            "keep": st.integers(min_value=0, max_value=200),
            "quantity": st.integers(min_value=1, max_value=10_000),
        }
    )
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stock)
def test_python_orm_and_sql_forms_of_the_rule_agree(level, case):
    savepoint = transaction.savepoint()
    try:
        Location.objects.filter(pk=level.location_id).update(
            safety_stock_pickup=case["pickup"], safety_stock_delivery=case["delivery"]
        )
        StockLevel.objects.filter(pk=level.pk).update(
            on_hand=case["on_hand"], reserved=case["reserved"]
        )
        free = free_units(case["on_hand"], case["reserved"])

        orm = (
            StockLevel.objects.filter(pk=level.pk)
            .annotate(
                free=free_expression(),
                pickup=available_expression(Channel.PICKUP),
                delivery=available_expression(Channel.DELIVERY),
            )
            .values_list("free", "pickup", "delivery")
            .get()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {free_sql('s')}, "
                f"{take_condition_sql('s', keep='%s', quantity='%s')} "
                "FROM inventory_stocklevel s WHERE s.id = %s",
                [case["keep"], case["quantity"], level.pk],
            )
            sql = cursor.fetchone()
        model = StockLevel.objects.get(pk=level.pk).free
        taken = _takes(level, case["quantity"], keep=case["keep"])

        assert model == free
        assert orm == (
            free,
            units_available(free, case["pickup"]),
            units_available(free, case["delivery"]),
        )
        expected = can_take(free, case["quantity"], keep=case["keep"])
        assert sql == (free, expected)
        assert taken is expected
    finally:
        transaction.savepoint_rollback(savepoint)


def _takes(level: StockLevel, quantity: int, *, keep: int) -> bool:
    """Whether the reservation statement (inventory.services._ledger) took the units."""
    try:
        with transaction.atomic():
            take_free(
                location_id=level.location_id,
                wanted={level.variant_id: quantity},
                kind=MovementKind.RESERVATION,
                reference="rule-check",
                performed_by=None,
                hold=True,
                keep=keep,
            )
    except InsufficientStock:
        return False
    return True


def test_a_missing_stock_level_promises_nothing():
    variant = VariantFactory()
    StoreFactory()

    found = (
        type(variant)
        .objects.filter(pk=variant.pk)
        .annotate(units=available_expression(Channel.PICKUP, prefix="stock_levels__"))
        .values_list("units", flat=True)
        .get()
    )

    assert found == 0
