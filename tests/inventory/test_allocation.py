"""Allocation strategies: which locations ship a delivery order, and in what order."""

import pytest

from inventory import allocation
from inventory.allocation import FewestFulfilmentsStrategy, PriorityStrategy
from inventory.services import StockLine
from tests.inventory.factories import (
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def stock(location, variant, on_hand, reserved=0):
    StockLevelFactory(location=location, variant=variant, on_hand=on_hand, reserved=reserved)


def plan(result):
    """An allocation as [(location code, sorted [(variant id, quantity)])], in shipping order."""
    return [
        (fulfilment.location.code, sorted(fulfilment.lines)) for fulfilment in result.fulfilments
    ]


# --- priority -------------------------------------------------------------------------------------


def test_priority_fills_from_each_location_in_configured_order():
    dress = VariantFactory()
    second = WarehouseFactory(code="WH-B", priority=20)
    first = WarehouseFactory(code="WH-A", priority=10)
    stock(second, dress, on_hand=5)
    stock(first, dress, on_hand=3, reserved=1)

    result = PriorityStrategy().allocate(lines=[StockLine(dress.pk, 4)])

    assert plan(result) == [("WH-A", [(dress.pk, 2)]), ("WH-B", [(dress.pk, 2)])]
    assert result.is_complete


def test_priority_reports_what_nobody_can_ship():
    dress, shoes = VariantFactory.create_batch(2)
    stock(WarehouseFactory(code="WH-A"), dress, on_hand=3)

    result = PriorityStrategy().allocate(lines=[StockLine(dress.pk, 5), StockLine(shoes.pk, 1)])

    assert plan(result) == [("WH-A", [(dress.pk, 3)])]
    assert sorted(result.unallocated) == [(dress.pk, 2), (shoes.pk, 1)]
    assert not result.is_complete


# --- fewest fulfilments ---------------------------------------------------------------------------


def test_fewest_fulfilments_prefers_one_location_covering_everything_over_priority():
    dress, shoes = VariantFactory.create_batch(2)
    warehouse = WarehouseFactory(code="WH-A", priority=1)
    store = StoreFactory(code="ST-A", ship_from_store=True, priority=90)
    stock(warehouse, dress, on_hand=50)
    stock(store, dress, on_hand=2)
    stock(store, shoes, on_hand=1)
    lines = [StockLine(dress.pk, 1), StockLine(shoes.pk, 1)]

    result = FewestFulfilmentsStrategy().allocate(lines=lines)

    assert plan(result) == [("ST-A", [(dress.pk, 1), (shoes.pk, 1)])]
    # The configured priority would have split it in two parcels.
    assert len(PriorityStrategy().allocate(lines=lines).fulfilments) == 2


def test_fewest_fulfilments_picks_the_highest_stock_among_complete_locations():
    dress = VariantFactory()
    stock(WarehouseFactory(code="WH-A", priority=1), dress, on_hand=4)
    stock(WarehouseFactory(code="WH-B", priority=2), dress, on_hand=30)

    result = FewestFulfilmentsStrategy().allocate(lines=[StockLine(dress.pk, 2)])

    assert plan(result) == [("WH-B", [(dress.pk, 2)])]


def test_fewest_fulfilments_splits_by_most_lines_covered_first():
    dress, shoes, bag, hat = VariantFactory.create_batch(4)
    north = WarehouseFactory(code="WH-N")
    south = WarehouseFactory(code="WH-S")
    store = StoreFactory(code="ST-A", ship_from_store=True)
    stock(north, dress, on_hand=1)
    stock(north, shoes, on_hand=1)
    stock(north, bag, on_hand=1)
    stock(south, dress, on_hand=9)
    stock(south, hat, on_hand=9)
    stock(store, hat, on_hand=1)

    result = FewestFulfilmentsStrategy().allocate(
        lines=[StockLine(v.pk, 1) for v in (dress, shoes, bag, hat)]
    )

    assert plan(result) == [
        ("WH-N", sorted([(dress.pk, 1), (shoes.pk, 1), (bag.pk, 1)])),
        ("WH-S", [(hat.pk, 1)]),
    ]


def test_fewest_fulfilments_splits_a_line_no_location_covers_alone():
    dress, shoes = VariantFactory.create_batch(2)
    north = WarehouseFactory(code="WH-N", priority=1)
    south = WarehouseFactory(code="WH-S", priority=2)
    stock(north, dress, on_hand=2)
    stock(north, shoes, on_hand=1)
    stock(south, dress, on_hand=3)

    result = FewestFulfilmentsStrategy().allocate(
        lines=[StockLine(dress.pk, 4), StockLine(shoes.pk, 1)]
    )

    # North ships the shoes, so it ships its dresses too; South adds the missing ones.
    assert plan(result) == [
        ("WH-N", sorted([(shoes.pk, 1), (dress.pk, 2)])),
        ("WH-S", [(dress.pk, 2)]),
    ]
    assert result.unallocated == ()


def test_fewest_fulfilments_merges_repeated_lines_and_reports_the_shortfall():
    dress, ghost = VariantFactory.create_batch(2)
    stock(WarehouseFactory(code="WH-A"), dress, on_hand=3)

    result = FewestFulfilmentsStrategy().allocate(
        lines=[StockLine(dress.pk, 2), StockLine(ghost.pk, 1), StockLine(dress.pk, 2)]
    )

    assert plan(result) == [("WH-A", [(dress.pk, 3)])]
    assert result.unallocated == ((dress.pk, 1), (ghost.pk, 1))


# --- candidates and stock read --------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [PriorityStrategy(), FewestFulfilmentsStrategy()])
def test_only_active_delivery_sources_ship_and_delivery_safety_stock_is_kept(strategy):
    dress = VariantFactory()
    stock(StoreFactory(ship_from_store=False), dress, on_hand=10)
    stock(WarehouseFactory(is_active=False), dress, on_hand=10)
    stock(StoreFactory(code="ST-S", ship_from_store=True, safety_stock_delivery=2), dress, 3)

    result = strategy.allocate(lines=[StockLine(dress.pk, 2)])

    assert plan(result) == [("ST-S", [(dress.pk, 1)])]
    assert result.unallocated == ((dress.pk, 1),)


def test_candidates_can_be_given():
    dress = VariantFactory()
    stock(WarehouseFactory(code="WH-A", priority=1), dress, on_hand=9)
    chosen = WarehouseFactory(code="WH-B", priority=2)
    stock(chosen, dress, on_hand=9)

    result = PriorityStrategy().allocate(lines=[StockLine(dress.pk, 1)], candidates=[chosen])

    assert plan(result) == [("WH-B", [(dress.pk, 1)])]


@pytest.mark.parametrize("size", [1, 30])
@pytest.mark.parametrize("strategy", [PriorityStrategy(), FewestFulfilmentsStrategy()])
def test_stock_is_read_in_two_queries_whatever_the_order_size(
    strategy, size, django_assert_num_queries
):
    variants = VariantFactory.create_batch(size)
    for number in range(size):
        location = WarehouseFactory() if number % 3 == 0 else StoreFactory(ship_from_store=True)
        for variant in variants[number:]:
            stock(location, variant, on_hand=1)

    with django_assert_num_queries(2):
        result = strategy.allocate(lines=[StockLine(v.pk, 1) for v in variants])

    assert result.is_complete


def test_the_setting_names_the_strategy(settings):
    assert isinstance(allocation.get_strategy(), FewestFulfilmentsStrategy)

    settings.OMNI_ALLOCATION_STRATEGY = "inventory.allocation.PriorityStrategy"

    assert isinstance(allocation.get_strategy(), PriorityStrategy)
