"""The stock services: every operation, its ledger rows, its events, and the inputs it refuses."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from celery.app.task import Task
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    InvalidStateChange,
    ReasonRequired,
    ReservationNotActive,
    SameLocation,
    ServiceNotOffered,
    UnknownVariant,
)
from inventory.models import (
    MovementKind,
    Reservation,
    ReservationStatus,
    Shortage,
    ShortageStatus,
    StockEvent,
    StockEventKind,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from inventory.services import StockLine
from inventory.tasks import release_expired_reservations
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def assert_ledger_matches() -> None:
    """Every stock row equals the sums of its ledger rows, and respects its constraints."""
    sums = {
        (row["variant_id"], row["location_id"]): (row["on_hand"], row["reserved"])
        for row in StockMovement.objects.values("variant_id", "location_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
    }
    for level in StockLevel.objects.all():
        assert sums.get((level.variant_id, level.location_id), (0, 0)) == (
            level.on_hand,
            level.reserved,
        ), level
        assert 0 <= level.reserved <= level.on_hand, level
        held = Reservation.objects.filter(
            variant_id=level.variant_id,
            location_id=level.location_id,
            status=ReservationStatus.ACTIVE,
        ).aggregate(total=Sum("quantity"))["total"]
        assert (held or 0) == level.reserved, level


def level_of(variant, location) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.reserved


def counts() -> tuple[int, int, int, int, int]:
    """How many rows every stock table holds: a refused operation changes none of them."""
    return (
        StockMovement.objects.count(),
        Reservation.objects.count(),
        StockEvent.objects.count(),
        Transfer.objects.count(),
        Shortage.objects.count(),
    )


@pytest.fixture
def store():
    return StoreFactory(click_and_collect=True)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def variant():
    return VariantFactory(low_stock_threshold=2)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="claire", password="pass-Word-1")


def stocked(variant, location, quantity: int = 10) -> None:
    services.stock_receive(
        location=location, lines=[StockLine(variant.pk, quantity)], reference="PO-SETUP"
    )


# --- receive --------------------------------------------------------------------------------


def test_receive_creates_the_stock_row_and_one_receipt_per_variant(store, variant, staff):
    other = VariantFactory()

    movements = services.stock_receive(
        location=store,
        lines=[StockLine(variant.pk, 3), StockLine(other.pk, 5), StockLine(variant.pk, 4)],
        reference="PO-1",
        performed_by=staff,
    )

    assert [(m.variant_id, m.kind, m.on_hand_delta, m.reserved_delta) for m in movements] == [
        (variant.pk, MovementKind.RECEIPT, 7, 0),
        (other.pk, MovementKind.RECEIPT, 5, 0),
    ]
    assert {(m.reference, m.performed_by_id) for m in StockMovement.objects.all()} == {
        ("PO-1", staff.pk)
    }
    assert level_of(variant, store) == (7, 0)
    assert level_of(other, store) == (5, 0)
    assert_ledger_matches()


def test_receive_adds_to_existing_stock(store, variant):
    stocked(variant, store, 4)

    services.stock_receive(location=store, lines=[StockLine(variant.pk, 6)], reference="PO-2")

    assert level_of(variant, store) == (10, 0)
    assert_ledger_matches()


def test_receive_accepts_lines_as_mappings(store, variant):
    services.stock_receive(
        location=store, lines=[{"variant_id": variant.pk, "quantity": 2}], reference="PO-3"
    )

    assert level_of(variant, store) == (2, 0)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True])
def test_receive_refuses_a_quantity_that_is_not_a_whole_number_above_zero(store, variant, quantity):
    with pytest.raises(InvalidQuantity):
        services.stock_receive(
            location=store,
            lines=[StockLine(variant.pk, 1), StockLine(variant.pk, quantity)],
            reference="PO-4",
        )

    assert counts() == (0, 0, 0, 0, 0)
    assert not StockLevel.objects.exists()


def test_receive_refuses_no_line_at_all(store):
    with pytest.raises(InvalidQuantity):
        services.stock_receive(location=store, lines=[], reference="PO-5")


def test_receive_names_the_unknown_and_inactive_variants_and_writes_nothing(store, variant):
    retired = VariantFactory(is_active=False)

    with pytest.raises(UnknownVariant) as raised:
        services.stock_receive(
            location=store,
            lines=[StockLine(variant.pk, 1), StockLine(retired.pk, 1), StockLine(999_999, 1)],
            reference="PO-6",
        )

    assert raised.value.extra == {"variant_ids": [retired.pk, 999_999]}
    assert counts() == (0, 0, 0, 0, 0)
    assert not StockLevel.objects.exists()


# --- adjust ---------------------------------------------------------------------------------


def test_adjust_changes_on_hand_with_its_reason(store, variant, staff):
    stocked(variant, store, 10)

    movement = services.stock_adjust(
        location=store,
        variant_id=variant.pk,
        delta=-3,
        reason="  damaged  ",
        performed_by=staff,
        reference="ADJ-1",
    )

    assert (movement.kind, movement.on_hand_delta, movement.reason, movement.reference) == (
        MovementKind.ADJUSTMENT,
        -3,
        "damaged",
        "ADJ-1",
    )
    assert movement.performed_by_id == staff.pk
    assert level_of(variant, store) == (7, 0)
    assert_ledger_matches()


def test_adjust_up_creates_a_missing_stock_row(store, variant):
    services.stock_adjust(location=store, variant_id=variant.pk, delta=2, reason="found")

    assert level_of(variant, store) == (2, 0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_adjust_without_a_reason_is_refused(store, variant, reason):
    stocked(variant, store, 10)
    before = counts()

    with pytest.raises(ReasonRequired):
        services.stock_adjust(location=store, variant_id=variant.pk, delta=-1, reason=reason)

    assert counts() == before
    assert level_of(variant, store) == (10, 0)


@pytest.mark.parametrize("delta", [0, 1.0])
def test_adjust_by_zero_or_a_fraction_is_refused(store, variant, delta):
    stocked(variant, store, 10)
    before = counts()

    with pytest.raises(InvalidQuantity):
        services.stock_adjust(location=store, variant_id=variant.pk, delta=delta, reason="x")

    assert counts() == before


def test_adjust_cannot_take_on_hand_below_what_is_reserved(store, variant):
    stocked(variant, store, 5)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 3)], reference="O-1")
    before = counts()

    with pytest.raises(InsufficientStock) as raised:
        services.stock_adjust(location=store, variant_id=variant.pk, delta=-3, reason="theft")

    assert raised.value.extra == {"variant_ids": [variant.pk]}
    assert counts() == before
    assert level_of(variant, store) == (5, 3)


def test_adjust_of_an_unknown_variant_is_refused(store):
    with pytest.raises(UnknownVariant):
        services.stock_adjust(location=store, variant_id=999_999, delta=1, reason="found")

    assert counts() == (0, 0, 0, 0, 0)


# --- reserve --------------------------------------------------------------------------------


def test_reserve_holds_every_line(store, variant, staff):
    other = VariantFactory()
    stocked(variant, store, 10)
    stocked(other, store, 10)
    expires = timezone.now() + timedelta(minutes=30)

    reservations = services.stock_reserve(
        location=store,
        lines=[StockLine(other.pk, 1), StockLine(variant.pk, 2), StockLine(variant.pk, 1)],
        reference="ORDER-1",
        expires_at=expires,
        performed_by=staff,
    )

    assert [(r.variant_id, r.quantity, r.status, r.expires_at) for r in reservations] == [
        (variant.pk, 3, ReservationStatus.ACTIVE, expires),
        (other.pk, 1, ReservationStatus.ACTIVE, expires),
    ]
    assert all(r.pk for r in reservations)
    assert level_of(variant, store) == (10, 3)
    assert level_of(other, store) == (10, 1)
    reservation_rows = StockMovement.objects.filter(kind=MovementKind.RESERVATION)
    assert sorted(reservation_rows.values_list("variant_id", "reserved_delta", "reference")) == (
        sorted([(variant.pk, 3, "ORDER-1"), (other.pk, 1, "ORDER-1")])
    )
    assert_ledger_matches()


def test_reserve_is_all_or_nothing_and_names_every_short_variant(store, variant):
    short, missing = VariantFactory(), VariantFactory()
    stocked(variant, store, 10)
    stocked(short, store, 1)
    before = counts()

    with pytest.raises(InsufficientStock) as raised:
        services.stock_reserve(
            location=store,
            lines=[StockLine(variant.pk, 2), StockLine(short.pk, 2), StockLine(missing.pk, 1)],
            reference="ORDER-2",
        )

    assert raised.value.extra == {"variant_ids": sorted([short.pk, missing.pk])}
    assert counts() == before
    assert level_of(variant, store) == (10, 0)
    assert level_of(short, store) == (1, 0)


def test_reserve_counts_only_free_stock(store, variant):
    stocked(variant, store, 3)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="O-1")

    with pytest.raises(InsufficientStock):
        services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="O-2")

    assert level_of(variant, store) == (3, 2)


def test_pickup_at_a_location_without_click_and_collect_is_refused(warehouse, variant):
    stocked(variant, warehouse, 10)
    before = counts()

    with pytest.raises(ServiceNotOffered):
        services.stock_reserve(
            location=warehouse,
            lines=[StockLine(variant.pk, 1)],
            reference="ORDER-3",
            for_pickup=True,
        )

    assert counts() == before


def test_pickup_leaves_the_store_safety_stock_on_the_shelf(variant):
    store = StoreFactory(click_and_collect=True, safety_stock_pickup=2)
    stocked(variant, store, 5)

    with pytest.raises(InsufficientStock):
        services.stock_reserve(
            location=store, lines=[StockLine(variant.pk, 4)], reference="C-1", for_pickup=True
        )
    services.stock_reserve(
        location=store, lines=[StockLine(variant.pk, 3)], reference="C-2", for_pickup=True
    )
    # A delivery or till reservation may still use the shelf units.
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="D-1")

    assert level_of(variant, store) == (5, 5)


@pytest.mark.parametrize("quantity", [0, -2])
def test_reserve_refuses_zero_or_negative_quantities(store, variant, quantity):
    stocked(variant, store, 10)
    before = counts()

    with pytest.raises(InvalidQuantity):
        services.stock_reserve(
            location=store, lines=[StockLine(variant.pk, quantity)], reference="O-9"
        )

    assert counts() == before


def test_reserve_of_an_unknown_sku_is_refused(store):
    with pytest.raises(UnknownVariant) as raised:
        services.stock_reserve(location=store, lines=[StockLine(999_999, 1)], reference="O-10")

    assert raised.value.extra == {"variant_ids": [999_999]}
    assert counts() == (0, 0, 0, 0, 0)


def test_reserve_of_a_variant_no_longer_sold_is_refused_even_with_stock_left(store, variant):
    short, retired = VariantFactory(), VariantFactory()
    stocked(variant, store, 10)
    stocked(retired, store, 10)
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    before = counts()

    # An unknown variant is named before a short one, as the API reports the first error.
    with pytest.raises(UnknownVariant) as raised:
        services.stock_reserve(
            location=store,
            lines=[StockLine(variant.pk, 1), StockLine(retired.pk, 1), StockLine(short.pk, 1)],
            reference="O-11",
        )

    assert raised.value.extra == {"variant_ids": [retired.pk]}
    assert counts() == before
    assert level_of(retired, store) == (10, 0)
    assert level_of(variant, store) == (10, 0)


def test_reserve_of_an_id_too_large_for_the_database_is_an_unknown_variant(store):
    with pytest.raises(UnknownVariant) as raised:
        services.stock_reserve(location=store, lines=[StockLine(2**63, 1)], reference="O-12")

    assert raised.value.extra == {"variant_ids": [2**63]}
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("line_count", [1, 10])
def test_reserve_takes_as_many_queries_for_ten_lines_as_for_one(
    store, django_assert_num_queries, line_count
):
    variants = VariantFactory.create_batch(line_count)
    services.stock_receive(
        location=store, lines=[StockLine(v.pk, 100) for v in variants], reference="PO"
    )

    # The reservations with their ledger rows (one statement), and one UPDATE that checks the
    # variants, locks the stock rows and takes the units; here inside a savepoint (the test's
    # transaction is the outer one), in a request between BEGIN and COMMIT instead.
    with django_assert_num_queries(4):
        reservations = services.stock_reserve(
            location=store,
            lines=[StockLine(v.pk, 1) for v in reversed(variants)],
            reference="O-13",
        )

    assert sorted(r.variant_id for r in reservations) == sorted(v.pk for v in variants)
    assert all(level_of(v, store) == (100, 1) for v in variants)
    assert_ledger_matches()


def test_till_sale_and_transfer_take_the_same_few_queries(store, warehouse, variant):
    stocked(variant, store, 100)
    line = [StockLine(variant.pk, 1)]

    # The ledger rows and the UPDATE, within their savepoint.
    with CaptureQueriesContext(connection) as sale:
        services.stock_sell(location=store, lines=line, reference="T-1")
    # ... and the transfer with its lines.
    with CaptureQueriesContext(connection) as transfer:
        services.stock_transfer_ship(source=store, destination=warehouse, lines=line)

    assert (len(sale), len(transfer)) == (4, 6)
    assert level_of(variant, store) == (98, 0)
    assert_ledger_matches()


# --- release and commit ---------------------------------------------------------------------


def test_release_by_reference_gives_the_units_back_once(store, variant, staff):
    stocked(variant, store, 10)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 4)], reference="O-1")

    released = services.stock_release(reference="O-1", performed_by=staff, reason="cart emptied")
    ledger_rows = StockMovement.objects.count()
    released_again = services.stock_release(reference="O-1", performed_by=staff)

    assert (released, released_again) == (1, 0)
    assert StockMovement.objects.count() == ledger_rows
    release = StockMovement.objects.get(kind=MovementKind.RELEASE)
    assert (release.reserved_delta, release.on_hand_delta, release.reason) == (
        -4,
        0,
        "cart emptied",
    )
    assert release.performed_by_id == staff.pk
    reservation = Reservation.objects.get()
    assert reservation.status == ReservationStatus.RELEASED
    assert reservation.closed_at is not None
    assert level_of(variant, store) == (10, 0)
    assert_ledger_matches()


def test_release_by_ids_leaves_the_other_reservations_alone(store, variant):
    stocked(variant, store, 10)
    (first,) = services.stock_reserve(
        location=store, lines=[StockLine(variant.pk, 1)], reference="O-1"
    )
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="O-2")

    assert services.stock_release(reservation_ids=[first.pk]) == 1

    assert level_of(variant, store) == (10, 2)
    assert_ledger_matches()


def test_release_needs_exactly_one_way_to_choose(store):
    with pytest.raises(TypeError):
        services.stock_release()
    with pytest.raises(TypeError):
        services.stock_release(reference="O-1", reservation_ids=[1])


def test_commit_turns_the_reservation_into_a_sale(store, variant, staff):
    stocked(variant, store, 10)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 3)], reference="O-1")

    (sale,) = services.stock_commit(reference="O-1", performed_by=staff)

    assert (sale.kind, sale.on_hand_delta, sale.reserved_delta, sale.reference) == (
        MovementKind.SALE,
        -3,
        -3,
        "O-1",
    )
    assert Reservation.objects.get().status == ReservationStatus.COMMITTED
    assert level_of(variant, store) == (7, 0)
    assert_ledger_matches()


def test_committing_a_released_reservation_is_refused(store, variant):
    stocked(variant, store, 10)
    (reservation,) = services.stock_reserve(
        location=store, lines=[StockLine(variant.pk, 3)], reference="O-1"
    )
    services.stock_release(reference="O-1")
    before = counts()

    with pytest.raises(ReservationNotActive) as raised:
        services.stock_commit(reservation_ids=[reservation.pk])
    with pytest.raises(ReservationNotActive):
        services.stock_commit(reference="O-1")

    assert raised.value.extra == {"reservation_ids": [reservation.pk]}
    assert counts() == before
    assert level_of(variant, store) == (10, 0)


def test_commit_by_ids_is_all_or_nothing(store, variant):
    stocked(variant, store, 10)
    (kept,) = services.stock_reserve(
        location=store, lines=[StockLine(variant.pk, 1)], reference="O-1"
    )
    (gone,) = services.stock_reserve(
        location=store, lines=[StockLine(variant.pk, 2)], reference="O-2"
    )
    services.stock_release(reference="O-2")

    with pytest.raises(ReservationNotActive):
        services.stock_commit(reservation_ids=[kept.pk, gone.pk])

    assert Reservation.objects.get(pk=kept.pk).status == ReservationStatus.ACTIVE
    assert level_of(variant, store) == (10, 1)


# --- till sales and returns -----------------------------------------------------------------


def test_sell_takes_from_free_stock_only(store, variant, staff):
    stocked(variant, store, 5)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 3)], reference="O-1")

    with pytest.raises(InsufficientStock):
        services.stock_sell(location=store, lines=[StockLine(variant.pk, 3)], reference="T-1")
    (sale,) = services.stock_sell(
        location=store, lines=[StockLine(variant.pk, 2)], reference="T-2", performed_by=staff
    )

    assert (sale.kind, sale.on_hand_delta, sale.reserved_delta, sale.reference) == (
        MovementKind.SALE,
        -2,
        0,
        "T-2",
    )
    assert level_of(variant, store) == (3, 3)
    assert_ledger_matches()


def test_sell_of_an_unknown_sku_writes_nothing(store, variant):
    stocked(variant, store, 5)
    before = counts()

    with pytest.raises(UnknownVariant):
        services.stock_sell(
            location=store,
            lines=[StockLine(variant.pk, 1), StockLine(999_999, 1)],
            reference="T-3",
        )

    assert counts() == before
    assert level_of(variant, store) == (5, 0)


def test_return_puts_units_back_even_for_a_variant_no_longer_sold(store, variant):
    retired = VariantFactory(is_active=False)
    stocked(variant, store, 1)

    movements = services.stock_return(
        location=store,
        lines=[StockLine(variant.pk, 1), StockLine(retired.pk, 2)],
        reference="RET-1",
        reason="wrong size",
    )

    assert [(m.kind, m.on_hand_delta, m.reason) for m in movements] == [
        (MovementKind.RETURN, 1, "wrong size"),
        (MovementKind.RETURN, 2, "wrong size"),
    ]
    assert level_of(variant, store) == (2, 0)
    assert level_of(retired, store) == (2, 0)
    assert_ledger_matches()


# --- transfers ------------------------------------------------------------------------------


def test_transfer_ships_from_free_stock_and_lands_on_receipt(warehouse, store, variant, staff):
    stocked(variant, warehouse, 10)

    transfer = services.stock_transfer_ship(
        source=warehouse,
        destination=store,
        lines=[StockLine(variant.pk, 4)],
        performed_by=staff,
        reference="TR-1",
    )

    assert (transfer.status, transfer.reference, transfer.created_by_id) == (
        TransferStatus.IN_TRANSIT,
        "TR-1",
        staff.pk,
    )
    assert list(transfer.lines.values_list("variant_id", "quantity")) == [(variant.pk, 4)]
    assert transfer.expected_at > timezone.now() + timedelta(days=store.transfer_lead_days - 1)
    assert level_of(variant, warehouse) == (6, 0)
    assert not StockLevel.objects.filter(location=store).exists()

    received = services.stock_transfer_receive(transfer=transfer, performed_by=staff)

    assert (received.status, received.received_by_id) == (TransferStatus.RECEIVED, staff.pk)
    assert level_of(variant, store) == (4, 0)
    assert list(
        StockMovement.objects.filter(reference="TR-1")
        .order_by("pk")
        .values_list("kind", "location_id", "on_hand_delta")
    ) == [
        (MovementKind.TRANSFER_OUT, warehouse.pk, -4),
        (MovementKind.TRANSFER_IN, store.pk, 4),
    ]
    assert_ledger_matches()


def test_transfer_gets_a_reference_when_none_is_given(warehouse, store, variant):
    stocked(variant, warehouse, 10)

    transfer = services.stock_transfer_ship(
        source=warehouse, destination=store, lines=[StockLine(variant.pk, 1)]
    )

    assert transfer.reference.startswith("TR-")
    assert StockMovement.objects.get(kind=MovementKind.TRANSFER_OUT).reference == (
        transfer.reference
    )


def test_transfer_to_the_same_location_is_refused(store, variant):
    stocked(variant, store, 10)
    before = counts()

    with pytest.raises(SameLocation):
        services.stock_transfer_ship(
            source=store, destination=store, lines=[StockLine(variant.pk, 1)]
        )

    assert counts() == before


def test_transfer_cannot_ship_reserved_units(warehouse, store, variant):
    stocked(variant, warehouse, 3)
    services.stock_reserve(location=warehouse, lines=[StockLine(variant.pk, 2)], reference="O")
    before = counts()

    with pytest.raises(InsufficientStock):
        services.stock_transfer_ship(
            source=warehouse, destination=store, lines=[StockLine(variant.pk, 2)]
        )

    assert counts() == before
    assert level_of(variant, warehouse) == (3, 2)


def test_a_transfer_is_received_once(warehouse, store, variant):
    stocked(variant, warehouse, 3)
    transfer = services.stock_transfer_ship(
        source=warehouse, destination=store, lines=[StockLine(variant.pk, 2)]
    )
    services.stock_transfer_receive(transfer=transfer)
    before = counts()

    with pytest.raises(InvalidStateChange):
        services.stock_transfer_receive(transfer=transfer)

    assert counts() == before
    assert level_of(variant, store) == (2, 0)


# --- counts and shortages -------------------------------------------------------------------


def test_count_sets_on_hand_and_records_the_difference(store, variant, staff):
    stocked(variant, store, 10)

    result = services.stock_count(
        location=store, variant_id=variant.pk, counted=8, performed_by=staff, reference="INV-1"
    )

    assert (result.movement.kind, result.movement.on_hand_delta, result.shortages) == (
        MovementKind.COUNT,
        -2,
        [],
    )
    assert level_of(variant, store) == (8, 0)
    assert_ledger_matches()


def test_count_below_reserved_releases_the_newest_reservations_into_shortages(store, variant):
    stocked(variant, store, 10)
    oldest, middle, newest = (
        services.stock_reserve(location=store, lines=[StockLine(variant.pk, n)], reference=ref)[0]
        for n, ref in [(3, "O-old"), (2, "O-mid"), (4, "O-new")]
    )

    result = services.stock_count(location=store, variant_id=variant.pk, counted=4)

    assert result.movement.on_hand_delta == -6
    assert [(s.reservation_id, s.quantity, s.reference, s.status) for s in result.shortages] == [
        (newest.pk, 4, "O-new", ShortageStatus.OPEN),
        (middle.pk, 2, "O-mid", ShortageStatus.OPEN),
    ]
    assert dict(Reservation.objects.values_list("reference", "status")) == {
        "O-old": ReservationStatus.ACTIVE,
        "O-mid": ReservationStatus.SHORTED,
        "O-new": ReservationStatus.SHORTED,
    }
    assert list(
        StockMovement.objects.filter(kind=MovementKind.RELEASE)
        .order_by("pk")
        .values_list("reference", "reserved_delta")
    ) == [("O-new", -4), ("O-mid", -2)]
    assert level_of(variant, store) == (4, 3)
    assert oldest.pk
    assert_ledger_matches()


def test_count_of_zero_releases_everything(store, variant):
    stocked(variant, store, 2)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="O-1")

    result = services.stock_count(location=store, variant_id=variant.pk, counted=0)

    assert len(result.shortages) == 1
    assert level_of(variant, store) == (0, 0)
    assert_ledger_matches()


@pytest.mark.parametrize("counted", [-1, 2.5])
def test_count_refuses_a_negative_or_fractional_count(store, variant, counted):
    stocked(variant, store, 2)
    before = counts()

    with pytest.raises(InvalidQuantity):
        services.stock_count(location=store, variant_id=variant.pk, counted=counted)

    assert counts() == before


def short_order(store, variant) -> Shortage:
    stocked(variant, store, 2)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 2)], reference="O-7")
    (shortage,) = services.stock_count(location=store, variant_id=variant.pk, counted=1).shortages
    return shortage


def test_shortage_reallocate_reserves_the_same_units_elsewhere(store, warehouse, variant, staff):
    shortage = short_order(store, variant)
    stocked(variant, warehouse, 5)

    (reservation,) = services.shortage_reallocate(
        shortage=shortage, location=warehouse, performed_by=staff
    )

    assert (reservation.location_id, reservation.variant_id, reservation.quantity) == (
        warehouse.pk,
        variant.pk,
        2,
    )
    assert reservation.reference == "O-7"
    shortage.refresh_from_db()
    assert (shortage.status, shortage.resolution_location_id, shortage.resolved_by_id) == (
        ShortageStatus.REALLOCATED,
        warehouse.pk,
        staff.pk,
    )
    assert level_of(variant, warehouse) == (5, 2)
    assert_ledger_matches()

    with pytest.raises(InvalidStateChange):
        services.shortage_reallocate(shortage=shortage, location=warehouse)


def test_shortage_stays_open_when_the_other_location_cannot_cover_it(store, warehouse, variant):
    shortage = short_order(store, variant)
    stocked(variant, warehouse, 1)
    before = counts()

    with pytest.raises(InsufficientStock):
        services.shortage_reallocate(shortage=shortage, location=warehouse)

    assert counts() == before
    shortage.refresh_from_db()
    assert shortage.status == ShortageStatus.OPEN


def test_shortage_cancel_closes_it_with_a_note(store, variant, staff):
    shortage = short_order(store, variant)

    cancelled = services.shortage_cancel(shortage=shortage, performed_by=staff, note="refunded")

    assert (cancelled.status, cancelled.note, cancelled.resolved_by_id) == (
        ShortageStatus.CANCELLED,
        "refunded",
        staff.pk,
    )
    assert cancelled.resolved_at is not None
    with pytest.raises(InvalidStateChange):
        services.shortage_cancel(shortage=shortage)


def test_a_reallocated_order_commits_its_new_reservation_only(store, warehouse, variant):
    shortage = short_order(store, variant)
    stocked(variant, warehouse, 5)
    services.shortage_reallocate(shortage=shortage, location=warehouse)

    (sale,) = services.stock_commit(reference="O-7")

    assert (sale.location_id, sale.on_hand_delta) == (warehouse.pk, -2)
    assert_ledger_matches()


# --- expiry ---------------------------------------------------------------------------------


def test_expired_reservations_are_released_once(store, variant):
    stocked(variant, store, 10)
    now = timezone.now()
    services.stock_reserve(
        location=store,
        lines=[StockLine(variant.pk, 2)],
        reference="O-late",
        expires_at=now - timedelta(seconds=1),
    )
    services.stock_reserve(
        location=store,
        lines=[StockLine(variant.pk, 3)],
        reference="O-fresh",
        expires_at=now + timedelta(minutes=5),
    )
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 1)], reference="O-none")

    first = services.stock_release_expired(now=now)
    ledger_rows = StockMovement.objects.count()
    second = services.stock_release_expired(now=now)

    assert (first, second) == (1, 0)
    assert StockMovement.objects.count() == ledger_rows
    assert dict(Reservation.objects.values_list("reference", "status")) == {
        "O-late": ReservationStatus.EXPIRED,
        "O-fresh": ReservationStatus.ACTIVE,
        "O-none": ReservationStatus.ACTIVE,
    }
    release = StockMovement.objects.get(kind=MovementKind.RELEASE)
    assert (release.reference, release.reserved_delta, release.reason) == ("O-late", -2, "expired")
    assert level_of(variant, store) == (10, 4)
    assert_ledger_matches()


def test_expiry_releases_at_most_the_limit_per_run(store, variant):
    stocked(variant, store, 10)
    past = timezone.now() - timedelta(minutes=1)
    for number in range(3):
        services.stock_reserve(
            location=store,
            lines=[StockLine(variant.pk, 1)],
            reference=f"O-{number}",
            expires_at=past,
        )

    assert services.stock_release_expired(limit=2) == 2
    assert services.stock_release_expired(limit=2) == 1
    assert level_of(variant, store) == (10, 0)


def test_the_beat_task_releases_expired_reservations(store, variant):
    stocked(variant, store, 10)
    services.stock_reserve(
        location=store,
        lines=[StockLine(variant.pk, 2)],
        reference="O-1",
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert release_expired_reservations() == 1
    assert release_expired_reservations() == 0
    assert level_of(variant, store) == (10, 0)


# --- stock events ---------------------------------------------------------------------------


def events() -> list[tuple[str, int]]:
    return list(StockEvent.objects.order_by("pk").values_list("kind", "available"))


def test_back_in_stock_when_available_rises_from_zero(store, variant):
    stocked(variant, store, 1)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 1)], reference="O-1")
    StockEvent.objects.all().delete()

    services.stock_release(reference="O-1")

    assert events() == [(StockEventKind.BACK_IN_STOCK, 1)]


def test_low_stock_when_available_drops_to_the_threshold(store, variant):
    stocked(variant, store, 5)
    assert events() == [(StockEventKind.BACK_IN_STOCK, 5)]

    services.stock_sell(location=store, lines=[StockLine(variant.pk, 2)], reference="T-1")
    assert len(events()) == 1  # 3 left: still above the threshold of 2

    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 1)], reference="O-1")
    services.stock_sell(location=store, lines=[StockLine(variant.pk, 1)], reference="T-2")

    # Down to 2 available: low stock, once; below it, no new event.
    assert events() == [(StockEventKind.BACK_IN_STOCK, 5), (StockEventKind.LOW_STOCK, 2)]
    assert StockEvent.objects.filter(kind=StockEventKind.LOW_STOCK).get().variant_id == variant.pk


def test_commit_leaves_availability_alone_and_writes_no_event(store, variant):
    stocked(variant, store, 10)
    services.stock_reserve(location=store, lines=[StockLine(variant.pk, 8)], reference="O-1")
    before = events()

    services.stock_commit(reference="O-1")

    assert events() == before


def test_a_refused_operation_writes_no_event(store, variant):
    stocked(variant, store, 3)
    before = events()

    with pytest.raises(InsufficientStock):
        services.stock_sell(location=store, lines=[StockLine(variant.pk, 4)], reference="T-1")

    assert events() == before


# --- no network call while a stock row is locked --------------------------------------------


@pytest.fixture
def no_network_in_transaction(monkeypatch) -> list[str]:
    """Fail any broker message or socket opened inside a transaction; log the ones outside."""
    calls: list[str] = []
    real_apply_async = Task.apply_async
    real_create_connection = socket.create_connection

    def guard(what: str) -> None:
        calls.append(what)
        assert not connection.in_atomic_block, f"{what} while a transaction holds stock rows"

    def apply_async(self, *args, **kwargs):
        guard(f"task {self.name}")
        return real_apply_async(self, *args, **kwargs)

    def create_connection(*args, **kwargs):
        guard(f"socket {args[0] if args else ''}")
        return real_create_connection(*args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return calls


@pytest.mark.django_db(transaction=True)
def test_no_service_makes_a_network_call_inside_its_transaction(
    no_network_in_transaction, django_capture_on_commit_callbacks, warehouse, store, variant
):
    line = [StockLine(variant.pk, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_receive(location=warehouse, lines=[StockLine(variant.pk, 20)], reference="P")
        services.stock_adjust(location=warehouse, variant_id=variant.pk, delta=-1, reason="broken")
        services.stock_sell(location=warehouse, lines=line, reference="T-1")
        services.stock_return(location=warehouse, lines=line, reference="R-1")
        transfer = services.stock_transfer_ship(source=warehouse, destination=store, lines=line)
        services.stock_transfer_receive(transfer=transfer)
        services.stock_reserve(location=store, lines=line, reference="O-1", for_pickup=True)
        services.stock_commit(reference="O-1")
        services.stock_reserve(location=warehouse, lines=line, reference="O-2")
        services.stock_release(reference="O-2")
        services.stock_reserve(
            location=warehouse,
            lines=line,
            reference="O-3",
            expires_at=timezone.now() - timedelta(seconds=1),
        )
        services.stock_release_expired()
        services.stock_reserve(location=warehouse, lines=[StockLine(variant.pk, 3)], reference="O")
        (shortage,) = services.stock_count(
            location=warehouse, variant_id=variant.pk, counted=2
        ).shortages
        services.shortage_cancel(shortage=shortage)
        services.stock_receive(location=store, lines=[StockLine(variant.pk, 5)], reference="P-2")
        services.stock_reserve(location=warehouse, lines=[StockLine(variant.pk, 2)], reference="Q")
        (shortage,) = services.stock_count(
            location=warehouse, variant_id=variant.pk, counted=1
        ).shortages
        services.shortage_reallocate(shortage=shortage, location=store)

    assert_ledger_matches()
    assert no_network_in_transaction == []
    # The guard is live: a task sent inside a transaction is caught.
    with pytest.raises(AssertionError, match="while a transaction holds"), transaction.atomic():
        release_expired_reservations.delay()
