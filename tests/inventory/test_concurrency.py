"""The stock services under real concurrency on PostgreSQL: threads, one connection each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inventory import services
from inventory.exceptions import InsufficientStock
from inventory.models import MovementKind, Reservation, ReservationStatus, StockLevel, StockMovement
from inventory.services import StockLine
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.inventory.test_services import assert_ledger_matches, level_of

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) in as many threads released at once; return results or errors."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as error:  # the test inspects every outcome
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def outcomes(results: list[object]) -> tuple[int, int, list[object]]:
    """(successes, InsufficientStock errors, anything else)."""
    ok = [r for r in results if isinstance(r, list)]
    short = [r for r in results if isinstance(r, InsufficientStock)]
    other = [r for r in results if not isinstance(r, list | InsufficientStock)]
    return len(ok), len(short), other


def test_fifty_buyers_racing_for_ten_units_get_exactly_ten():
    store, variant = StoreFactory(), VariantFactory()
    services.stock_receive(location=store, lines=[StockLine(variant.pk, 10)], reference="PO")

    results = run_together(
        50,
        lambda n: services.stock_reserve(
            location=store, lines=[StockLine(variant.pk, 1)], reference=f"O-{n}"
        ),
    )

    assert outcomes(results) == (10, 40, [])
    assert level_of(variant, store) == (10, 10)
    assert Reservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 10
    assert StockMovement.objects.filter(kind=MovementKind.RESERVATION).count() == 10
    assert_ledger_matches()


def test_two_sku_baskets_in_opposite_orders_neither_deadlock_nor_oversell():
    store = StoreFactory()
    shirt, jeans = VariantFactory(), VariantFactory()
    services.stock_receive(
        location=store,
        lines=[StockLine(shirt.pk, 15), StockLine(jeans.pk, 15)],
        reference="PO",
    )

    def basket(n: int) -> object:
        lines = [StockLine(shirt.pk, 1), StockLine(jeans.pk, 1)]
        return services.stock_reserve(
            location=store, lines=lines if n % 2 else lines[::-1], reference=f"O-{n}"
        )

    results = run_together(20, basket)

    assert outcomes(results) == (15, 5, [])
    assert level_of(shirt, store) == (15, 15)
    assert level_of(jeans, store) == (15, 15)
    assert_ledger_matches()


def test_releases_and_commits_in_opposite_orders_do_not_deadlock():
    store = StoreFactory()
    shirt, jeans = VariantFactory(), VariantFactory()
    services.stock_receive(
        location=store,
        lines=[StockLine(shirt.pk, 20), StockLine(jeans.pk, 20)],
        reference="PO",
    )
    for n in range(20):
        services.stock_reserve(
            location=store,
            lines=[StockLine(shirt.pk, 1), StockLine(jeans.pk, 1)],
            reference=f"O-{n}",
        )

    def close(n: int) -> object:
        if n % 2:
            return services.stock_commit(reference=f"O-{n}")
        return [services.stock_release(reference=f"O-{n}")]

    results = run_together(20, close)

    assert outcomes(results) == (20, 0, [])
    assert level_of(shirt, store) == (10, 0)
    assert level_of(jeans, store) == (10, 0)
    assert_ledger_matches()


def test_baskets_racing_commits_and_releases_of_the_same_rows_do_not_deadlock():
    # Reservations take stock rows only; commits and releases take their reservations first,
    # then the stock rows: both in primary-key order, whatever order the basket's lines are in.
    store = StoreFactory()
    shirt, jeans = VariantFactory(), VariantFactory()
    services.stock_receive(
        location=store,
        lines=[StockLine(shirt.pk, 20), StockLine(jeans.pk, 20)],
        reference="PO",
    )
    for n in range(10):
        services.stock_reserve(
            location=store,
            lines=[StockLine(jeans.pk, 1), StockLine(shirt.pk, 1)],
            reference=f"HELD-{n}",
        )

    def work(n: int) -> object:
        if n % 2:
            lines = [StockLine(shirt.pk, 1), StockLine(jeans.pk, 1)]
            return services.stock_reserve(
                location=store, lines=lines if n % 4 == 1 else lines[::-1], reference=f"O-{n}"
            )
        if n % 4:
            return services.stock_commit(reference=f"HELD-{n // 2}")
        return [services.stock_release(reference=f"HELD-{n // 2}")]

    results = run_together(20, work)

    assert outcomes(results) == (20, 0, [])
    # 5 of the held baskets sold, 5 released, 10 new baskets held.
    assert level_of(shirt, store) == (15, 10)
    assert level_of(jeans, store) == (15, 10)
    assert_ledger_matches()


def test_till_sales_and_reservations_together_never_oversell():
    store, variant = StoreFactory(), VariantFactory()
    services.stock_receive(location=store, lines=[StockLine(variant.pk, 10)], reference="PO")
    line = [StockLine(variant.pk, 1)]

    def buy(n: int) -> object:
        if n % 2:
            return services.stock_sell(location=store, lines=line, reference=f"T-{n}")
        return services.stock_reserve(location=store, lines=line, reference=f"O-{n}")

    results = run_together(30, buy)

    successes, short, other = outcomes(results)
    assert (successes, short, other) == (10, 20, [])
    sold = StockMovement.objects.filter(kind=MovementKind.SALE).count()
    held = Reservation.objects.filter(status=ReservationStatus.ACTIVE).count()
    assert sold + held == 10
    assert level_of(variant, store) == (10 - sold, held)
    assert_ledger_matches()


def test_expiry_sweepers_and_releases_close_each_reservation_once():
    store, variant = StoreFactory(), VariantFactory()
    services.stock_receive(location=store, lines=[StockLine(variant.pk, 10)], reference="PO")
    past = timezone.now() - timedelta(minutes=1)
    for n in range(10):
        services.stock_reserve(
            location=store, lines=[StockLine(variant.pk, 1)], reference=f"O-{n}", expires_at=past
        )

    def close(n: int) -> int:
        if n % 2:
            return services.stock_release_expired(limit=3)
        return services.stock_release(reference=f"O-{n}")

    results = run_together(10, close)

    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == StockMovement.objects.filter(kind=MovementKind.RELEASE).count()
    assert level_of(variant, store) == (10, 10 - sum(results))
    assert_ledger_matches()


def test_receipts_of_a_new_article_create_its_stock_row_once():
    store, variant = StoreFactory(), VariantFactory()

    results = run_together(
        10,
        lambda n: services.stock_receive(
            location=store, lines=[StockLine(variant.pk, 1)], reference=f"PO-{n}"
        ),
    )

    assert outcomes(results) == (10, 0, [])
    assert StockLevel.objects.filter(variant=variant, location=store).count() == 1
    assert level_of(variant, store) == (10, 0)
    assert_ledger_matches()
