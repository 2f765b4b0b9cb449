"""The availability fast path: one hand-written query, locations kept in the process, pickup
times computed once per store and minute, and a response built without the serializer. Each must
give exactly what the plain rules give, and a location's change must show on the next request."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inventory import api, selectors
from inventory.models import Location, StockLevel
from inventory.selectors import STORE_TIME_ZONE, _Place, _ready_at, pickup_ready_at
from tests.inventory.factories import (
    OPEN_EVERY_DAY,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db

MONDAY_TO_SATURDAY = {str(day): ["10:00", "19:00"] for day in range(6)} | {"6": None}
MONDAY = datetime(2026, 3, 9, tzinfo=STORE_TIME_ZONE)
# The night clocks go back in Paris (two 02:00-03:00 hours) and forward (no 02:00-03:00).
DST_ENDS = datetime(2026, 10, 25, tzinfo=STORE_TIME_ZONE)
DST_STARTS = datetime(2026, 3, 29, tzinfo=STORE_TIME_ZONE)


@pytest.fixture
def client() -> APIClient:
    from django.core.cache import cache

    cache.clear()  # throttle counters
    return APIClient()


def place(**overrides) -> _Place:
    values = {
        "pk": 1,
        "code": "PAR01",
        "name": "Rivoli",
        "city": "Paris",
        "kind": "store",
        "click_and_collect": True,
        "ship_from_store": False,
        "opening_hours": MONDAY_TO_SATURDAY,
        "pickup_preparation_minutes": 120,
        "transfer_lead_days": 2,
        "safety_stock_pickup": 0,
        "safety_stock_delivery": 0,
    }
    return _Place(**(values | overrides))


# --- pickup time per minute -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "store",
    [
        place(),
        place(pickup_preparation_minutes=0),
        place(pickup_preparation_minutes=539),  # leaves one minute of a 10:00-19:00 day
        place(pickup_preparation_minutes=600),  # longer than any day: never ready
        place(opening_hours=OPEN_EVERY_DAY, pickup_preparation_minutes=45),
        place(opening_hours={"2": ["09:30", "12:15"], "4": ["13:00", "bad"], "5": ["x"]}),
        place(opening_hours={}),
    ],
    ids=["usual", "no-preparation", "last-minute", "too-long", "every-day", "odd-hours", "none"],
)
@pytest.mark.parametrize(
    "start", [MONDAY, DST_ENDS, DST_STARTS], ids=["week", "dst-end", "dst-start"]
)
def test_the_pickup_time_kept_per_minute_is_the_one_computed_at_that_instant(store, start):
    rng = random.Random(3)
    instants = []
    for minutes in range(0, 8 * 24 * 60, 7):  # every 7 minutes for 8 days...
        minute = start + timedelta(minutes=minutes)
        # ... at its first and last microsecond and somewhere in between,
        instants += [
            minute,
            minute + timedelta(seconds=59, microseconds=999_999),
            minute + timedelta(seconds=rng.randrange(60), microseconds=rng.randrange(10**6)),
        ]
    # ... and around every opening, closing and last moment to order, in UTC as the server has it.
    for day in range(8):
        for clock in ("09:30", "10:00", "12:15", "13:00", "17:00", "18:15", "19:00", "00:00"):
            hour, minute = map(int, clock.split(":"))
            moment = (start + timedelta(days=day)).replace(hour=hour, minute=minute)
            instants += [moment + timedelta(microseconds=delta) for delta in (-1, 0, 1)]
            instants += [moment + timedelta(seconds=delta) for delta in (-61, -1, 30, 59, 60)]

    for at in instants:
        for instant in (at, at.astimezone(UTC)):
            assert _ready_at(store, instant) == pickup_ready_at(location=store, at=instant), instant


# --- one query, the same answers ----------------------------------------------------------------


@pytest.fixture
def shop():
    """Two click-and-collect stores (one shipping, one keeping 1 unit back), a store without
    click-and-collect, a warehouse, an inactive store; a variant stocked here and there."""
    variant = VariantFactory(sku="P1-M")
    rivoli = StoreFactory(
        code="PAR01", ship_from_store=True, safety_stock_pickup=1, safety_stock_delivery=2
    )
    lyon = StoreFactory(code="LYO01", opening_hours=MONDAY_TO_SATURDAY)
    StoreFactory(code="NOCC", click_and_collect=False)
    warehouse = WarehouseFactory(code="WH1")
    closed = StoreFactory(code="OLD", is_active=False)
    StockLevelFactory(variant=variant, location=rivoli, on_hand=5, reserved=1)
    StockLevelFactory(variant=variant, location=warehouse, on_hand=7, reserved=2)
    StockLevelFactory(variant=variant, location=closed, on_hand=50)
    StockLevelFactory(variant=VariantFactory(), location=lyon, on_hand=9)
    return variant


def test_the_availability_statement_applies_safety_stock_and_leaves_out_inactive_places(shop):
    now = datetime(2026, 3, 11, 10, tzinfo=STORE_TIME_ZONE)
    other = VariantFactory()

    fast = selectors.variants_availability(variants=[shop, other], now=now)

    assert [
        (item.delivery, [(s.code, s.available, s.transfer_available) for s in item.stores])
        for item in fast
    ] == [
        (2 + 5, [("LYO01", 0, 5), ("PAR01", 3, 0)]),  # inactive OLD's 50 units left out
        (0, [("LYO01", 0, 0), ("PAR01", 0, 0)]),
    ]
    assert selectors.variant_availability_by_sku(sku="P1-M", now=now) == fast[0]


def test_availability_by_sku_is_the_variants_availability_in_one_query(
    shop, django_assert_num_queries, monkeypatch
):
    now = datetime(2026, 3, 11, 10, tzinfo=STORE_TIME_ZONE)
    # A process that has not read the locations yet.
    monkeypatch.setattr(selectors, "_PLACES", {})

    for _ in range(2):  # then one that has
        with django_assert_num_queries(1):
            found = selectors.variant_availability_by_sku(sku="P1-M", now=now)
        assert found == selectors.variant_availability(variant=shop, now=now)


def test_availability_by_sku_is_none_for_an_unknown_or_withdrawn_sku():
    VariantFactory(sku="OFF", is_active=False)
    VariantFactory(sku="GONE", product=ProductFactory(is_active=False))

    for sku in ("NOPE", "OFF", "GONE"):
        assert selectors.variant_availability_by_sku(sku=sku) is None


def test_without_any_active_location_a_variant_has_nothing_to_offer():
    variant = VariantFactory(sku="A")
    Location.objects.all().update(is_active=False)

    found = selectors.variant_availability_by_sku(sku="A")

    assert (found.variant_id, found.delivery, found.stores) == (variant.pk, 0, ())


def test_the_response_is_what_the_documented_serializer_gives(shop):
    variant_availability = selectors.variant_availability(variant=shop)
    transfer = VariantFactory()
    StockLevelFactory(variant=transfer, location=Location.objects.get(code="WH1"), on_hand=3)
    with_transfer = selectors.variant_availability(variant=transfer)
    assert any(store.transfer_ready_at for store in with_transfer.stores)

    for zone in ("Europe/Paris", "UTC", "America/New_York"):
        with timezone.override(zone):
            for availability in (variant_availability, with_transfer):
                expected = api.VariantAvailabilityOutput(availability).data
                assert api._availability_data(availability) == expected


# --- a location's change shows on the next request ----------------------------------------------


def stores_of(client) -> dict:
    response = client.get("/api/v1/availability/P1-M/")
    assert response.status_code == 200, response.content
    return {store["code"]: store for store in response.json()["stores"]}


def test_a_location_saved_shows_on_the_next_request(client, shop):
    assert stores_of(client)["PAR01"]["available"] == 3
    rivoli = Location.objects.get(code="PAR01")

    rivoli.safety_stock_pickup = 4
    rivoli.name = "Rivoli (travaux)"
    rivoli.save()

    assert stores_of(client)["PAR01"]["name"] == "Rivoli (travaux)"
    assert stores_of(client)["PAR01"]["available"] == 0


def test_opening_hours_changed_by_a_queryset_update_show_on_the_next_request(client, shop):
    before = stores_of(client)["PAR01"]["ready_at"]
    assert before is not None

    # No save(), no signal: the location's row changed all the same.
    Location.objects.filter(code="PAR01").update(opening_hours={})

    assert stores_of(client)["PAR01"]["ready_at"] is None


def test_stores_added_closed_or_deleted_show_on_the_next_request(client, shop):
    assert set(stores_of(client)) == {"LYO01", "PAR01"}

    StoreFactory(code="BOR01")
    assert set(stores_of(client)) == {"BOR01", "LYO01", "PAR01"}

    Location.objects.filter(code="LYO01").update(is_active=False)
    assert set(stores_of(client)) == {"BOR01", "PAR01"}

    Location.objects.filter(code="BOR01").delete()
    assert set(stores_of(client)) == {"PAR01"}


def test_stock_changes_show_on_the_next_request_with_the_locations_kept(
    client, shop, django_assert_num_queries
):
    stores_of(client)  # the locations are now kept in this process

    StockLevel.objects.filter(variant=shop, location__code="PAR01").update(reserved=4)

    with django_assert_num_queries(1):
        assert stores_of(client)["PAR01"]["available"] == 0


def test_kept_locations_of_another_database_state_are_not_reused(shop, monkeypatch):
    """A fingerprint that is not the database's (another process's, a rolled-back
    transaction's) sends the locations back."""
    now = datetime(2026, 3, 11, 10, tzinfo=STORE_TIME_ZONE)
    ghost = ("0:0", (place(pk=-1, code="GHOST"),))
    monkeypatch.setattr(selectors, "_PLACES", {"default": ghost, "replica": ghost})

    found = selectors.variant_availability_by_sku(sku="P1-M", now=now)

    assert [store.code for store in found.stores] == ["LYO01", "PAR01"]
    # Kept per database: what this one sent back replaced its own entry only.
    assert selectors._PLACES["default"][0] != "0:0"
    assert selectors._PLACES["replica"] is ghost


def test_no_variant_asked_gives_no_availability(shop, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.variants_availability(variants=[]) == []
