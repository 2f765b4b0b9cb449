"""The click-and-collect lifecycle and the transition service every status change goes through."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import MovementKind, StockLevel, StockMovement, Transfer, TransferStatus
from omni import roles
from orders.fulfilment import machine
from orders.fulfilment.exceptions import (
    InvalidTransition,
    OrderNotCancellable,
    PickupProofRequired,
    WrongPickupCode,
)
from orders.fulfilment.tasks import expire_overdue_pickups, send_pickup_reminders
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Notification,
    NotificationKind,
    OrderStatus,
)
from orders.services import (
    fulfilment_transition,
    order_cancel,
    pickup_collect,
    pickup_mark_ready,
    pickup_transfer_arrived,
)
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory
from tests.orders.order_factories import FulfilmentFactory, place_order, stock_up

pytestmark = pytest.mark.django_db

S = FulfilmentStatus
ILLEGAL = [
    (kind, source, target)
    for kind in FulfilmentKind.values
    for source in S.values
    for target in S.values
    if target not in machine.allowed_next(kind=kind, status=source)
]


@pytest.fixture
def store():
    return StoreFactory(code="PAR01", name="Paris Rivoli")


@pytest.fixture
def dress():
    return VariantFactory(sku="ROBE-38")


@pytest.fixture
def vendeur(make_staff, store):
    return make_staff(roles.STORE_STAFF, stores=[store])


def level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


def movements(reference: str) -> list[tuple[str, int, int]]:
    return list(
        StockMovement.objects.filter(reference=reference)
        .order_by("pk")
        .values_list("kind", "on_hand_delta", "reserved_delta")
    )


def pickup(store, dress, quantity=2):
    stock_up(dress, store, 5)
    order = place_order(lines=[(dress, quantity)], location=store)
    return order, order.fulfilments.get()


@pytest.mark.parametrize(("kind", "source", "target"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_writes_nothing(kind, source, target):
    fulfilment = FulfilmentFactory(kind=kind, status=source)

    with pytest.raises(InvalidTransition) as caught:
        fulfilment_transition(fulfilment=fulfilment, to_status=target)

    assert caught.value.extra["from_status"] == source
    assert caught.value.extra["to_status"] == target
    assert str(S(source).label) in caught.value.detail
    assert str(S(target).label) in caught.value.detail
    fulfilment.refresh_from_db()
    assert fulfilment.status == source
    assert not FulfilmentTransition.objects.exists()


def test_the_table_has_an_exit_from_every_non_final_status_and_none_from_final_ones():
    pickup_table = machine.TRANSITIONS[FulfilmentKind.CLICK_AND_COLLECT]
    assert set(pickup_table) == {S.PLACED, S.AWAITING_TRANSFER, S.RESERVED, S.READY}
    for status in (S.COLLECTED, S.EXPIRED, S.CANCELLED):
        assert machine.is_final(kind=FulfilmentKind.CLICK_AND_COLLECT, status=status)


def test_pickup_lifecycle_reserved_ready_collected_moves_stock_and_records_who(
    store, dress, vendeur, django_capture_on_commit_callbacks
):
    order, fulfilment = pickup(store, dress)
    assert level(dress, store) == (5, 2)

    before = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        ready = pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)

    assert ready.status == S.READY
    assert ready.ready_at >= before
    assert ready.pickup_deadline == ready.ready_at + timedelta(days=7)
    notification = Notification.objects.get()
    assert (notification.kind, notification.fulfilment) == (
        NotificationKind.READY_FOR_PICKUP,
        fulfilment,
    )
    assert len(callbacks) == 1  # the send is queued after commit
    assert level(dress, store) == (5, 2)

    collected = pickup_collect(fulfilment=fulfilment, performed_by=vendeur, code=" 482 913 ")

    assert collected.status == S.COLLECTED
    assert collected.collected_at is not None
    assert level(dress, store) == (3, 0)
    assert movements(fulfilment.reference) == [
        (MovementKind.RESERVATION, 0, 2),
        (MovementKind.SALE, -2, -2),
    ]
    assert list(
        FulfilmentTransition.objects.filter(fulfilment=fulfilment)
        .order_by("pk")
        .values_list("from_status", "to_status", "performed_by", "note")
    ) == [
        (S.RESERVED, S.READY, vendeur.pk, ""),
        (S.READY, S.COLLECTED, vendeur.pk, "pickup code"),
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_pickup_deadline_follows_the_setting(store, dress, vendeur, settings):
    settings.OMNI_PICKUP_DAYS = 3
    _order, fulfilment = pickup(store, dress)

    ready = pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)

    assert ready.pickup_deadline - ready.ready_at == timedelta(days=3)


def test_a_wrong_pickup_code_writes_nothing(store, dress, vendeur):
    _order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)
    transitions = FulfilmentTransition.objects.count()

    with pytest.raises(WrongPickupCode):
        pickup_collect(fulfilment=fulfilment, performed_by=vendeur, code="000000")

    fulfilment.refresh_from_db()
    assert fulfilment.status == S.READY
    assert fulfilment.collected_at is None
    assert FulfilmentTransition.objects.count() == transitions
    assert level(dress, store) == (5, 2)
    assert movements(fulfilment.reference) == [(MovementKind.RESERVATION, 0, 2)]


def test_collect_needs_a_code_or_an_identity_check(store, dress, vendeur):
    _order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)

    with pytest.raises(PickupProofRequired):
        pickup_collect(fulfilment=fulfilment, performed_by=vendeur)
    collected = pickup_collect(fulfilment=fulfilment, performed_by=vendeur, identity_checked=True)

    assert collected.status == S.COLLECTED
    assert collected.transitions.last().note == "identity checked by staff"


def test_a_cancelled_order_gives_its_stock_back_and_cannot_be_collected(store, dress, vendeur):
    order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)

    cancelled = order_cancel(order=order, performed_by=vendeur, reason="customer called")

    assert cancelled.status == OrderStatus.CANCELLED
    assert level(dress, store) == (5, 0)
    with pytest.raises(InvalidTransition):
        pickup_collect(fulfilment=fulfilment, performed_by=vendeur, code="482913")
    fulfilment.refresh_from_db()
    assert fulfilment.status == S.CANCELLED
    assert level(dress, store) == (5, 0)
    assert movements(fulfilment.reference)[-1] == (MovementKind.RELEASE, 0, -2)


def test_an_order_cannot_be_cancelled_once_collected(store, dress, vendeur):
    order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)
    pickup_collect(fulfilment=fulfilment, performed_by=vendeur, code="482913")
    transitions = FulfilmentTransition.objects.count()

    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order, performed_by=vendeur)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert FulfilmentTransition.objects.count() == transitions


def test_an_expired_pickup_gives_its_stock_back_once(store, dress, vendeur):
    order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)
    Fulfilment.objects.filter(pk=fulfilment.pk).update(
        pickup_deadline=timezone.now() - timedelta(minutes=1)
    )
    on_time = place_order(lines=[(dress, 1)], location=store).fulfilments.get()
    pickup_mark_ready(fulfilment=on_time, performed_by=vendeur)

    assert expire_overdue_pickups() == 1
    assert expire_overdue_pickups() == 0

    fulfilment.refresh_from_db()
    assert fulfilment.status == S.EXPIRED
    assert fulfilment.transitions.last().performed_by is None
    assert level(dress, store) == (5, 1)  # only the pickup still on time holds stock
    assert movements(fulfilment.reference)[-1] == (MovementKind.RELEASE, 0, -2)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    on_time.refresh_from_db()
    assert on_time.status == S.READY


def test_a_reminder_is_sent_once_the_day_before_the_deadline(store, dress, vendeur):
    _order, fulfilment = pickup(store, dress)
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)
    later = place_order(lines=[(dress, 1)], location=store).fulfilments.get()
    pickup_mark_ready(fulfilment=later, performed_by=vendeur)
    Fulfilment.objects.filter(pk=fulfilment.pk).update(
        pickup_deadline=timezone.now() + timedelta(hours=12)
    )

    assert send_pickup_reminders() == 1
    assert send_pickup_reminders() == 0

    fulfilment.refresh_from_db()
    assert fulfilment.reminder_sent_at is not None
    assert list(
        Notification.objects.filter(kind=NotificationKind.PICKUP_REMINDER).values_list(
            "fulfilment", flat=True
        )
    ) == [fulfilment.pk]


def test_a_transfer_arriving_moves_the_hold_from_the_warehouse_to_the_store(store, dress, vendeur):
    warehouse = WarehouseFactory()
    stock_up(dress, warehouse, 3)
    order = place_order(lines=[(dress, 2)], location=store, source_location=warehouse)
    fulfilment = order.fulfilments.get()
    assert fulfilment.status == S.AWAITING_TRANSFER
    assert level(dress, warehouse) == (3, 2)

    arrived = pickup_transfer_arrived(fulfilment=fulfilment, performed_by=vendeur)

    assert arrived.status == S.RESERVED
    assert level(dress, warehouse) == (1, 0)
    assert level(dress, store) == (2, 2)
    transfer = Transfer.objects.get()
    assert (transfer.source, transfer.destination, transfer.status) == (
        warehouse,
        store,
        TransferStatus.RECEIVED,
    )
    assert movements(fulfilment.reference) == [
        (MovementKind.RESERVATION, 0, 2),
        (MovementKind.RELEASE, 0, -2),
        (MovementKind.RESERVATION, 0, 2),
    ]


def test_order_status_completes_when_every_fulfilment_is_final(store, dress, vendeur):
    order, first = pickup(store, dress, quantity=1)
    second = FulfilmentFactory(order=order, status=S.RESERVED, location=store)
    pickup_mark_ready(fulfilment=first, performed_by=vendeur)
    pickup_collect(fulfilment=first, performed_by=vendeur, code="482913")
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED

    fulfilment_transition(fulfilment=second, to_status=S.CANCELLED, performed_by=vendeur)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
