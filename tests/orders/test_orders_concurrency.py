"""The locking order services under real concurrency (PostgreSQL, threads behind a barrier).

Each race is run for a few rounds, each round on fresh rows: one round can miss the window by
chance, several in a row rarely do, so every test here fails when its lock is removed.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementKind, StockLevel, StockMovement
from omni import roles
from orders.fulfilment.exceptions import InvalidTransition
from orders.models import (
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Notification,
    NotificationKind,
    Return,
)
from orders.services import (
    order_cancel,
    pickup_collect,
    pickup_mark_ready,
    pickups_expire_overdue,
    return_create,
)
from tests.concurrency import race
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.order_factories import place_order, stock_up

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4
S = FulfilmentStatus


def errors(results: list[object]) -> list[type]:
    return [type(result) for result in results if isinstance(result, Exception)]


@pytest.fixture
def store():
    return StoreFactory(code="PAR01")


@pytest.fixture
def staff(make_staff, store):
    return [make_staff(roles.STORE_STAFF, stores=[store]) for _index in range(2)]


def level(variant, store) -> tuple[int, int]:
    found = StockLevel.objects.get(variant=variant, location=store)
    return found.on_hand, found.reserved


def test_two_desks_returning_the_last_unit_at_once_only_one_takes_it(store, staff):
    def one_round() -> None:
        dress = VariantFactory(price=Decimal("50.00"))
        stock_up(dress, store, 1)
        order = place_order(lines=[(dress, 1)], location=store, kind=FulfilmentKind.STORE_SALE)
        line = order.lines.get()

        def give_back(seller):
            return lambda: return_create(
                order=order,
                location=store,
                lines=[(line.pk, 1)],
                reason="too small",
                refund_amount=Decimal("50.00"),
                performed_by=seller,
            )

        results = race(give_back(staff[0]), give_back(staff[1]))

        assert sorted(error.__name__ for error in errors(results)) == ["ReturnTooMany"]
        assert Return.objects.filter(order=order).count() == 1
        assert level(dress, store) == (1, 0)  # sold, then back on the shelf once

    for _round in range(ROUNDS):
        one_round()


def test_collecting_a_pickup_as_it_expires_either_sells_or_releases_never_both(store, staff):
    def one_round() -> None:
        dress = VariantFactory()
        stock_up(dress, store, 1)
        order = place_order(lines=[(dress, 1)], location=store, status=S.READY)
        fulfilment = order.fulfilments.get()
        at_deadline = timezone.now()
        type(fulfilment).objects.filter(pk=fulfilment.pk).update(pickup_deadline=at_deadline)

        results = race(
            lambda: pickup_collect(
                fulfilment=fulfilment, performed_by=staff[0], identity_checked=True
            ),
            lambda: pickups_expire_overdue(now=at_deadline + timedelta(seconds=1)),
        )

        fulfilment.refresh_from_db()
        moves = list(
            StockMovement.objects.filter(reference=fulfilment.reference)
            .exclude(kind=MovementKind.RESERVATION)
            .values_list("kind", flat=True)
        )
        if fulfilment.status == S.COLLECTED:
            assert results[1] == 0  # the sweep found it collected, or held: it expired nothing
            assert level(dress, store) == (0, 0)
            assert moves == [MovementKind.SALE]
        else:
            assert fulfilment.status == S.EXPIRED
            assert errors(results) == [InvalidTransition]
            assert level(dress, store) == (1, 0)
            assert moves == [MovementKind.RELEASE]

    for _round in range(ROUNDS):
        one_round()


def test_two_staff_marking_one_pickup_ready_at_once_make_one_change_and_one_message(store, staff):
    def one_round() -> None:
        dress = VariantFactory()
        stock_up(dress, store, 1)
        fulfilment = place_order(lines=[(dress, 1)], location=store).fulfilments.get()

        results = race(
            *(
                lambda seller=seller: pickup_mark_ready(fulfilment=fulfilment, performed_by=seller)
                for seller in staff
            )
        )

        assert errors(results) == [InvalidTransition]
        assert (
            FulfilmentTransition.objects.filter(fulfilment=fulfilment, to_status=S.READY).count()
            == 1
        )
        assert (
            Notification.objects.filter(
                fulfilment=fulfilment, kind=NotificationKind.READY_FOR_PICKUP
            ).count()
            == 1
        )
        assert level(dress, store) == (1, 1)

    for _round in range(ROUNDS):
        one_round()


def test_two_staff_cancelling_one_pickup_at_once_release_its_stock_once(store, staff):
    def one_round() -> None:
        dress = VariantFactory()
        stock_up(dress, store, 1)
        order = place_order(lines=[(dress, 1)], location=store, status=S.READY)
        fulfilment = order.fulfilments.get()

        results = race(
            *(
                lambda seller=seller: order_cancel(order=order, performed_by=seller, reason="no")
                for seller in staff
            )
        )

        assert errors(results) == []  # cancelling a cancelled order changes nothing
        assert (
            FulfilmentTransition.objects.filter(
                fulfilment=fulfilment, to_status=S.CANCELLED
            ).count()
            == 1
        )
        assert list(
            StockMovement.objects.filter(
                reference=fulfilment.reference, kind=MovementKind.RELEASE
            ).values_list("reserved_delta", flat=True)
        ) == [-1]
        assert level(dress, store) == (1, 0)

    for _round in range(ROUNDS):
        one_round()
