"""Availability per channel and per store, pickup times, nearby stores and low stock."""

from datetime import datetime

import pytest

from inventory import selectors
from inventory.geo import GeoPoint, departement_of, distance_km, point_for_postal_code
from inventory.selectors import STORE_TIME_ZONE, pickup_ready_at
from tests.inventory.factories import (
    OPEN_EVERY_DAY,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db

MONDAY_TO_SATURDAY = {str(day): ["10:00", "19:00"] for day in range(6)} | {"6": None}


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 (the 11th is a Wednesday), Paris time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=STORE_TIME_ZONE)


WEDNESDAY_10H = paris(11, 10)


# --- pickup times -------------------------------------------------------------------------------


def test_an_open_store_is_ready_after_the_preparation_time():
    store = StoreFactory.build(opening_hours=OPEN_EVERY_DAY, pickup_preparation_minutes=90)

    assert pickup_ready_at(location=store, at=paris(11, 10)) == paris(11, 11, 30)


def test_a_store_not_open_yet_is_ready_after_opening_plus_preparation():
    store = StoreFactory.build(opening_hours=MONDAY_TO_SATURDAY, pickup_preparation_minutes=120)

    assert pickup_ready_at(location=store, at=paris(11, 7)) == paris(11, 12)


def test_too_late_today_is_ready_tomorrow_after_opening():
    store = StoreFactory.build(opening_hours=MONDAY_TO_SATURDAY, pickup_preparation_minutes=120)

    # 17:30 + 2 h is after the 19:00 closing.
    assert pickup_ready_at(location=store, at=paris(11, 17, 30)) == paris(12, 12)
    # A store closed for the night behaves the same.
    assert pickup_ready_at(location=store, at=paris(11, 22)) == paris(12, 12)


def test_a_store_closed_on_sunday_is_ready_on_monday():
    store = StoreFactory.build(opening_hours=MONDAY_TO_SATURDAY, pickup_preparation_minutes=60)

    assert pickup_ready_at(location=store, at=paris(14, 18, 30)) == paris(16, 11)
    assert pickup_ready_at(location=store, at=paris(15, 11)) == paris(16, 11)


def test_a_store_without_opening_hours_is_never_ready():
    store = StoreFactory.build(opening_hours={})

    assert pickup_ready_at(location=store, at=WEDNESDAY_10H) is None


def test_a_utc_moment_is_read_in_paris_time():
    store = StoreFactory.build(opening_hours=MONDAY_TO_SATURDAY, pickup_preparation_minutes=60)
    nine_utc = datetime.fromisoformat("2026-03-11T09:00:00+00:00")  # 10:00 in Paris

    assert pickup_ready_at(location=store, at=nine_utc) == paris(11, 11)


# --- availability ---------------------------------------------------------------------------------


def test_availability_deducts_reserved_and_each_channels_safety_stock():
    variant = VariantFactory()
    shipping_store = StoreFactory(
        code="PAR01", ship_from_store=True, safety_stock_pickup=1, safety_stock_delivery=2
    )
    store = StoreFactory(code="PAR02", ship_from_store=False, safety_stock_pickup=0)
    warehouse = WarehouseFactory(code="WH1", safety_stock_delivery=1)
    StockLevelFactory(variant=variant, location=shipping_store, on_hand=5, reserved=1)
    StockLevelFactory(variant=variant, location=store, on_hand=4, reserved=0)
    StockLevelFactory(variant=variant, location=warehouse, on_hand=10, reserved=3)

    result = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H)

    # delivery: warehouse 10-3-1 = 6, ship-from-store 5-1-2 = 2; PAR02 does not ship.
    assert result.delivery == 8
    assert [(s.code, s.available, s.ready_at, s.ready_today) for s in result.stores] == [
        ("PAR01", 3, paris(11, 12), True),
        ("PAR02", 4, paris(11, 12), True),
    ]


def test_availability_is_never_negative():
    variant = VariantFactory()
    store = StoreFactory(ship_from_store=True, safety_stock_pickup=5, safety_stock_delivery=5)
    StockLevelFactory(variant=variant, location=store, on_hand=3, reserved=1)

    result = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H)

    assert result.delivery == 0
    assert result.stores[0].available == 0
    assert result.stores[0].ready_at is None


def test_inactive_locations_count_for_nothing():
    variant = VariantFactory()
    StockLevelFactory(variant=variant, location=WarehouseFactory(is_active=False), on_hand=50)
    StockLevelFactory(variant=variant, location=StoreFactory(is_active=False), on_hand=50)

    result = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H)

    assert (result.delivery, result.stores) == (0, ())


def test_stores_without_click_and_collect_are_not_offered_for_pickup():
    variant = VariantFactory()
    store = StoreFactory(click_and_collect=False, ship_from_store=True)
    StockLevelFactory(variant=variant, location=store, on_hand=4)

    result = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H)

    assert (result.delivery, result.stores) == (4, ())


def test_a_store_closed_now_offers_pickup_tomorrow_not_today():
    variant = VariantFactory()
    store = StoreFactory(opening_hours=MONDAY_TO_SATURDAY, pickup_preparation_minutes=120)
    StockLevelFactory(variant=variant, location=store, on_hand=2)

    result = selectors.variant_availability(variant=variant, now=paris(11, 20))

    [offer] = result.stores
    assert (offer.available, offer.ready_at, offer.ready_today) == (2, paris(12, 12), False)
    assert result.pickup_today == ()


def test_a_store_without_the_variant_offers_it_after_a_transfer_from_the_warehouses():
    variant = VariantFactory()
    store = StoreFactory(
        opening_hours=MONDAY_TO_SATURDAY, transfer_lead_days=3, pickup_preparation_minutes=60
    )
    StockLevelFactory(variant=variant, location=store, on_hand=1, reserved=1)
    StockLevelFactory(variant=variant, location=WarehouseFactory(), on_hand=6, reserved=2)
    StockLevelFactory(variant=variant, location=WarehouseFactory(), on_hand=1)

    result = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H)

    # Wednesday + 3 days is Saturday 10:00, ready at 11:00.
    [offer] = result.stores
    assert (offer.available, offer.transfer_available, offer.transfer_ready_at) == (
        0,
        5,
        paris(14, 11),
    )


def test_a_transfer_arriving_on_sunday_is_ready_on_monday():
    variant = VariantFactory()
    StoreFactory(
        opening_hours=MONDAY_TO_SATURDAY, transfer_lead_days=4, pickup_preparation_minutes=60
    )
    StockLevelFactory(variant=variant, location=WarehouseFactory(), on_hand=2)

    [offer] = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H).stores

    assert (offer.transfer_available, offer.transfer_ready_at) == (2, paris(16, 11))


def test_a_store_with_stock_offers_no_transfer():
    variant = VariantFactory()
    StockLevelFactory(variant=variant, location=StoreFactory(), on_hand=1)
    StockLevelFactory(variant=variant, location=WarehouseFactory(), on_hand=9)

    [offer] = selectors.variant_availability(variant=variant, now=WEDNESDAY_10H).stores

    assert (offer.available, offer.transfer_available, offer.transfer_ready_at) == (1, 0, None)


def test_batch_availability_keeps_the_order_asked_and_runs_one_query(
    django_assert_num_queries,
):
    stores = StoreFactory.create_batch(5, ship_from_store=True)
    variants = VariantFactory.create_batch(8)
    for number, variant in enumerate(variants):
        StockLevelFactory(variant=variant, location=stores[number % 5], on_hand=number)
    asked = list(reversed(variants))

    with django_assert_num_queries(1):
        result = selectors.variants_availability(variants=asked, now=WEDNESDAY_10H)

    assert [item.sku for item in result] == [variant.sku for variant in asked]
    assert [item.delivery for item in result] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert all(len(item.stores) == 5 for item in result)


def test_variants_by_sku_leaves_out_unknown_and_withdrawn_articles():
    sold = VariantFactory(sku="A-1")
    VariantFactory(sku="A-2", is_active=False)
    VariantFactory(sku="A-3", product__is_active=False)

    assert selectors.variants_by_sku(skus=["A-1", "A-2", "A-3", "NOPE"]) == {"A-1": sold}


# --- nearby stores --------------------------------------------------------------------------------


def test_nearest_stores_having_the_variant_nearest_first():
    variant = VariantFactory()
    lyon = StoreFactory(code="LYO01", latitude="45.760800", longitude="4.859500")
    paris_store = StoreFactory(code="PAR01", latitude="48.860600", longitude="2.347600")
    marseille = StoreFactory(code="MAR01", latitude="43.297600", longitude="5.381000")
    empty = StoreFactory(code="LYO02", latitude="45.750000", longitude="4.850000")
    closed = StoreFactory(code="LYO03", latitude="45.76", longitude="4.86", is_active=False)
    for store in (lyon, paris_store, marseille, closed):
        StockLevelFactory(variant=variant, location=store, on_hand=3)
    StockLevelFactory(variant=variant, location=empty, on_hand=2, reserved=2)
    StockLevelFactory(variant=variant, location=WarehouseFactory(latitude="45.7"), on_hand=40)

    result = selectors.nearest_stores(
        variant=variant, origin=point_for_postal_code("69007"), now=WEDNESDAY_10H
    )

    assert [store.code for store in result] == ["LYO01", "MAR01", "PAR01"]
    assert result[0].distance_km < 5
    assert 270 < result[1].distance_km < 290
    assert result[0].ready_at == paris(11, 12)


def test_nearest_stores_stops_at_the_limit_and_skips_stores_without_coordinates():
    variant = VariantFactory()
    for number in range(4):
        store = StoreFactory(latitude=f"48.8{number}", longitude="2.35")
        StockLevelFactory(variant=variant, location=store, on_hand=1)
    StockLevelFactory(variant=variant, location=StoreFactory(latitude=None), on_hand=1)

    result = selectors.nearest_stores(variant=variant, origin=GeoPoint(48.8, 2.35), limit=2)

    assert [store.distance_km for store in result] == [0.0, 1.1]


# --- low stock ------------------------------------------------------------------------------------


def test_low_stock_lists_free_units_at_or_under_the_threshold():
    store = StoreFactory(safety_stock_pickup=3)
    at_threshold = VariantFactory(sku="B", low_stock_threshold=2)
    under = VariantFactory(sku="A", low_stock_threshold=2)
    plenty = VariantFactory(sku="C", low_stock_threshold=2)
    withdrawn = VariantFactory(sku="D", low_stock_threshold=2, is_active=False)
    StockLevelFactory(variant=at_threshold, location=store, on_hand=5, reserved=3)
    StockLevelFactory(variant=under, location=store, on_hand=1)
    StockLevelFactory(variant=plenty, location=store, on_hand=3)
    StockLevelFactory(variant=withdrawn, location=store, on_hand=0)
    StockLevelFactory(variant=under, location=StoreFactory(), on_hand=0)

    result = selectors.low_stock(location=store)

    assert [(level.variant.sku, level.free_units) for level in result] == [("A", 1), ("B", 2)]


# --- geography ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postal_code", "departement"),
    [
        ("75011", "75"),
        ("06000", "06"),
        ("20000", "2A"),
        ("20200", "2B"),
        ("97400", "974"),
        ("00100", None),
        ("7501", None),
        ("75O11", None),
    ],
)
def test_departement_of_a_postal_code(postal_code, departement):
    assert departement_of(postal_code) == departement


def test_distance_between_paris_and_lyon():
    assert round(distance_km(GeoPoint(48.8566, 2.3522), GeoPoint(45.7640, 4.8357))) == 391
