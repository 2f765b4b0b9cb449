"""Earning loyalty points under real concurrency (PostgreSQL, threads behind a barrier).

`loyalty_earn` takes no savepoint: the account is created or locked by one upsert and the
movement inserted ON CONFLICT DO NOTHING. Two earns of one reference at once must still credit
the points once, and a reference another customer earned at the same moment is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from customers import loyalty
from customers.models import Channel, LoyaltyAccount, LoyaltyMovement
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


def race(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs at once, one thread and one connection each; each one's result or error."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # the test asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an earn never finished"
    return results


def earning(customer, reference: str) -> Callable[[], LoyaltyMovement]:
    return lambda: loyalty.loyalty_earn(
        customer=customer, amount=Decimal("80.00"), reference=reference, channel=Channel.WEB
    )


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_the_same_earn_four_times_at_once_credits_the_points_once(round_number):
    lea = CustomerFactory()  # no account yet: the racers all try to open it

    results = race([earning(lea, f"W-{round_number}")] * 4)

    assert all(isinstance(result, LoyaltyMovement) for result in results), results
    assert len({result.pk for result in results}) == 1
    assert LoyaltyMovement.objects.count() == 1
    account = LoyaltyAccount.objects.get(customer=lea)
    assert account.balance == 80
    assert account.movements.aggregate(total=Sum("points"))["total"] == 80


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_two_customers_earning_one_reference_at_once_one_is_refused(round_number):
    lea, ines = CustomerFactory(), CustomerFactory()
    reference = f"W-{round_number}"

    results = race([earning(lea, reference), earning(ines, reference)])

    earned = [result for result in results if isinstance(result, LoyaltyMovement)]
    refused = [result for result in results if isinstance(result, loyalty.LoyaltyReferenceUsed)]
    assert (len(earned), len(refused)) == (1, 1), results
    assert LoyaltyMovement.objects.get().pk == earned[0].pk
    winner = earned[0].account.customer_id
    assert {a.customer_id: a.balance for a in LoyaltyAccount.objects.filter(balance__gt=0)} == {
        winner: 80
    }
