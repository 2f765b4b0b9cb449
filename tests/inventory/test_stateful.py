"""Random sequences of stock operations against a small model: every invariant after each step.

Each hypothesis example runs in its own savepoint, rolled back by the machine's teardown, inside
pytest-django's test transaction: examples never see each other's rows.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory import services
from inventory.exceptions import InsufficientStock, ReservationNotActive, ServiceNotOffered
from inventory.models import Reservation, ReservationStatus, StockLevel
from inventory.services import StockLine
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory
from tests.inventory.test_services import assert_ledger_matches

pytestmark = pytest.mark.django_db

VARIANT = st.integers(0, 1)
LOCATION = st.integers(0, 1)  # 0: a click-and-collect store keeping 1 unit back; 1: a warehouse
QUANTITY = st.integers(1, 4)
PICK = st.integers(0, 1_000)


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.locations = [
            StoreFactory(click_and_collect=True, safety_stock_pickup=1),
            WarehouseFactory(),
        ]
        self.variants = [VariantFactory().pk, VariantFactory().pk]
        # The model: units per (variant index, location index), and the reservations held.
        self.on_hand: Counter[tuple[int, int]] = Counter()
        self.reserved: Counter[tuple[int, int]] = Counter()
        self.active: dict[int, tuple[tuple[int, int], int, bool]] = {}  # pk: key, qty, expired
        self.closed: list[int] = []
        self.in_transit: dict[int, object] = {}
        self.references = itertools.count()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def _free(self, key: tuple[int, int]) -> int:
        return self.on_hand[key] - self.reserved[key]

    def _reference(self) -> str:
        return f"REF-{next(self.references)}"

    def _close(self, pk: int) -> tuple[tuple[int, int], int]:
        key, quantity, _expired = self.active.pop(pk)
        self.reserved[key] -= quantity
        self.closed.append(pk)
        return key, quantity

    @initialize()
    def opening_stock(self) -> None:
        for location, place in enumerate(self.locations):
            services.stock_receive(
                location=place,
                lines=[StockLine(variant_id, 5) for variant_id in self.variants],
                reference="opening",
            )
            for variant in range(2):
                self.on_hand[variant, location] = 5

    @rule(variant=VARIANT, location=LOCATION, quantity=QUANTITY)
    def receive(self, variant: int, location: int, quantity: int) -> None:
        services.stock_receive(
            location=self.locations[location],
            lines=[StockLine(self.variants[variant], quantity)],
            reference=self._reference(),
        )
        self.on_hand[variant, location] += quantity

    @rule(variant=VARIANT, location=LOCATION, quantity=QUANTITY)
    def give_back(self, variant: int, location: int, quantity: int) -> None:
        services.stock_return(
            location=self.locations[location],
            lines=[StockLine(self.variants[variant], quantity)],
            reference=self._reference(),
        )
        self.on_hand[variant, location] += quantity

    @rule(
        location=LOCATION,
        lines=st.lists(st.tuples(VARIANT, QUANTITY), min_size=1, max_size=3),
        for_pickup=st.booleans(),
        expired=st.booleans(),
    )
    def reserve_basket(self, location: int, lines: list, for_pickup: bool, expired: bool) -> None:
        self._reserve(location, lines, for_pickup=for_pickup, expired=expired)

    # Simpler ways in on one hot row, so that several reservations pile up there for a count.
    @rule(quantity=st.integers(1, 2), expired=st.booleans())
    def reserve_hot(self, quantity: int, expired: bool) -> None:
        self._reserve(0, [(0, quantity)], for_pickup=False, expired=expired)

    @rule(quantity=st.integers(1, 2))
    def reserve_hot_for_pickup(self, quantity: int) -> None:
        self._reserve(0, [(0, quantity)], for_pickup=True, expired=False)

    def _reserve(self, location: int, lines: list, *, for_pickup: bool, expired: bool) -> None:
        place = self.locations[location]
        wanted: Counter[int] = Counter()
        for variant, quantity in lines:
            wanted[variant] += quantity
        keep = place.safety_stock_pickup if for_pickup else 0
        offered = place.click_and_collect or not for_pickup
        covered = all(
            max(self._free((variant, location)) - keep, 0) >= quantity
            for variant, quantity in wanted.items()
        )
        try:
            reservations = services.stock_reserve(
                location=place,
                lines=[StockLine(self.variants[v], q) for v, q in lines],
                reference=self._reference(),
                expires_at=timezone.now() - timedelta(seconds=1) if expired else None,
                for_pickup=for_pickup,
            )
        except ServiceNotOffered:
            assert not offered
            return
        except InsufficientStock:
            assert offered
            assert not covered
            return
        assert offered
        assert covered
        for reservation in reservations:
            variant = self.variants.index(reservation.variant_id)
            self.reserved[variant, location] += reservation.quantity
            self.active[reservation.pk] = ((variant, location), reservation.quantity, expired)

    @precondition(lambda self: self.active or self.closed)
    @rule(pick=PICK)
    def release(self, pick: int) -> None:
        if self.active and pick % 3:
            pk = sorted(self.active)[pick % len(self.active)]
            assert services.stock_release(reservation_ids=[pk]) == 1
            self._close(pk)
        elif self.closed:
            assert (
                services.stock_release(reservation_ids=[self.closed[pick % len(self.closed)]]) == 0
            )

    @precondition(lambda self: self.active or self.closed)
    @rule(pick=PICK)
    def commit(self, pick: int) -> None:
        if self.active and pick % 3:
            pk = sorted(self.active)[pick % len(self.active)]
            services.stock_commit(reservation_ids=[pk])
            key, quantity = self._close(pk)
            self.on_hand[key] -= quantity
        elif self.closed:
            with pytest.raises(ReservationNotActive):
                services.stock_commit(reservation_ids=[self.closed[pick % len(self.closed)]])

    @rule(variant=VARIANT, location=LOCATION, quantity=QUANTITY)
    def sell(self, variant: int, location: int, quantity: int) -> None:
        key = (variant, location)
        try:
            services.stock_sell(
                location=self.locations[location],
                lines=[StockLine(self.variants[variant], quantity)],
                reference=self._reference(),
            )
        except InsufficientStock:
            assert self._free(key) < quantity
            return
        assert self._free(key) >= quantity
        self.on_hand[key] -= quantity

    @rule(variant=VARIANT, location=LOCATION, delta=st.integers(-3, 3).filter(bool))
    def adjust(self, variant: int, location: int, delta: int) -> None:
        key = (variant, location)
        try:
            services.stock_adjust(
                location=self.locations[location],
                variant_id=self.variants[variant],
                delta=delta,
                reason="stateful test",
            )
        except InsufficientStock:
            assert self.on_hand[key] + delta < self.reserved[key]
            return
        assert self.on_hand[key] + delta >= self.reserved[key]
        self.on_hand[key] += delta

    @rule(variant=VARIANT, source=LOCATION, quantity=QUANTITY)
    def ship(self, variant: int, source: int, quantity: int) -> None:
        key = (variant, source)
        try:
            transfer = services.stock_transfer_ship(
                source=self.locations[source],
                destination=self.locations[1 - source],
                lines=[StockLine(self.variants[variant], quantity)],
            )
        except InsufficientStock:
            assert self._free(key) < quantity
            return
        assert self._free(key) >= quantity
        self.on_hand[key] -= quantity
        self.in_transit[transfer.pk] = (transfer, (variant, 1 - source), quantity)

    @precondition(lambda self: self.in_transit)
    @rule(pick=PICK)
    def land(self, pick: int) -> None:
        pk = sorted(self.in_transit)[pick % len(self.in_transit)]
        transfer, key, quantity = self.in_transit.pop(pk)
        services.stock_transfer_receive(transfer=transfer)
        self.on_hand[key] += quantity

    @rule(variant=VARIANT, location=LOCATION, counted=st.integers(0, 4))
    def count(self, variant: int, location: int, counted: int) -> None:
        key = (variant, location)
        result = services.stock_count(
            location=self.locations[location], variant_id=self.variants[variant], counted=counted
        )
        self.on_hand[key] = counted
        expected = []
        for pk in sorted((pk for pk, held in self.active.items() if held[0] == key), reverse=True):
            if self.reserved[key] <= counted:
                break
            self._close(pk)
            expected.append(pk)
        assert [shortage.reservation_id for shortage in result.shortages] == expected

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def count_short(self, data: st.DataObject) -> None:
        """Count fewer units than are reserved on the row holding the most reservations."""
        held = Counter(key for key, _quantity, _expired in self.active.values())
        key = max(held, key=lambda key: (held[key], key))
        self.count(*key, counted=data.draw(st.integers(0, self.reserved[key] - 1)))

    @rule()
    def expire(self) -> None:
        expired = sorted(pk for pk, held in self.active.items() if held[2])
        assert services.stock_release_expired() == len(expired)
        for pk in expired:
            self._close(pk)

    @invariant()
    def stock_matches_the_model(self) -> None:
        levels = {
            (self.variants.index(level.variant_id), self.locations.index(level.location)): (
                level.on_hand,
                level.reserved,
            )
            for level in StockLevel.objects.filter(location__in=self.locations)
        }
        for key in itertools.product(range(2), range(2)):
            assert levels.get(key, (0, 0)) == (self.on_hand[key], self.reserved[key]), key
        active = Reservation.objects.filter(
            location__in=self.locations, status=ReservationStatus.ACTIVE
        )
        assert sorted(active.values_list("pk", flat=True)) == sorted(self.active)
        assert_ledger_matches()


def test_random_stock_operations_keep_every_invariant():
    run_state_machine_as_test(
        StockMachine,
        settings=settings(stateful_step_count=20),  # examples, seed: tests/conftest.py
    )
