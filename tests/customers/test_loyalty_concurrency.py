"""Earning loyalty points under real concurrency (PostgreSQL, threads behind a barrier).

`loyalty_earn` takes no savepoint: the account is created or locked by one upsert and the
movement inserted ON CONFLICT DO NOTHING. Two earns of one reference at once must still credit
the points once, and a reference another customer earned at the same moment is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Sum

from customers import loyalty, services
from customers.models import Channel, LoyaltyAccount, LoyaltyMovement
from tests.concurrency import race
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


def earning(customer, reference: str) -> Callable[[], LoyaltyMovement]:
    return lambda: services.loyalty_earn(
        customer=customer, amount=Decimal("80.00"), reference=reference, channel=Channel.WEB
    )


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_the_same_earn_four_times_at_once_credits_the_points_once(round_number):
    lea = CustomerFactory()  # no account yet: the racers all try to open it

    results = race(*[earning(lea, f"W-{round_number}")] * 4)

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

    results = race(earning(lea, reference), earning(ines, reference))

    earned = [result for result in results if isinstance(result, LoyaltyMovement)]
    refused = [result for result in results if isinstance(result, loyalty.LoyaltyReferenceUsed)]
    assert (len(earned), len(refused)) == (1, 1), results
    assert LoyaltyMovement.objects.get().pk == earned[0].pk
    winner = earned[0].account.customer_id
    assert {a.customer_id: a.balance for a in LoyaltyAccount.objects.filter(balance__gt=0)} == {
        winner: 80
    }
