"""Loyalty: one rule set for every channel, a ledger that always adds up to the balance."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers import loyalty, services
from customers.auth import customer_token
from customers.exceptions import CustomerNotLive
from customers.models import (
    Channel,
    LoyaltyAccount,
    LoyaltyMovement,
    LoyaltyMovementKind,
    LoyaltyTier,
)
from omni import roles
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

Kind = LoyaltyMovementKind


def balance_of(customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


def assert_ledger_adds_up() -> None:
    for account in LoyaltyAccount.objects.annotate(total=Sum("movements__points")):
        assert account.balance == (account.total or 0), account


def earn(customer, amount: str, reference: str, channel=Channel.WEB):
    return services.loyalty_earn(
        customer=customer, amount=Decimal(amount), reference=reference, channel=channel
    )


def test_a_web_order_and_a_till_sale_earn_under_the_same_rule():
    lea = CustomerFactory()

    web = earn(lea, "59.90", "W-1001", Channel.WEB)
    till = earn(lea, "120.00", "S-2001", Channel.STORE)
    app = earn(lea, "0.99", "A-3001", Channel.APP)

    assert [(m.points, m.amount, m.channel) for m in (web, till, app)] == [
        (59, Decimal("59.90"), "web"),
        (120, Decimal("120.00"), "store"),
        (0, Decimal("0.99"), "app"),  # whole points only, but the spend still counts
    ]
    assert balance_of(lea) == 179
    assert_ledger_adds_up()


@override_settings(OMNI_LOYALTY_POINTS_PER_EURO="2")
def test_the_rate_comes_from_the_settings():
    lea = CustomerFactory()

    assert earn(lea, "10.50", "W-1").points == 21


def test_replaying_an_earn_does_nothing():
    lea = CustomerFactory()
    first = earn(lea, "80.00", "W-1001")

    again = earn(lea, "80.00", "W-1001")

    assert again.pk == first.pk
    assert LoyaltyMovement.objects.count() == 1
    assert balance_of(lea) == 80


def test_a_reference_already_earned_by_another_customer_is_refused():
    lea, ines = CustomerFactory(), CustomerFactory()
    earn(lea, "80.00", "W-1001")

    with pytest.raises(loyalty.LoyaltyReferenceUsed):
        earn(ines, "80.00", "W-1001")

    assert LoyaltyMovement.objects.count() == 1
    assert not LoyaltyAccount.objects.filter(customer=ines).exists()


def test_spending_online_and_at_the_till_debits_the_balance():
    lea = CustomerFactory()
    earn(lea, "500.00", "W-1")

    online = services.loyalty_spend(customer=lea, points=100, reference="W-2", channel=Channel.WEB)
    till = services.loyalty_spend(customer=lea, points=300, reference="S-3", channel=Channel.STORE)
    replay = services.loyalty_spend(customer=lea, points=100, reference="W-2", channel=Channel.WEB)

    assert (online.points, till.points, replay.pk) == (-100, -300, online.pk)
    assert balance_of(lea) == 100
    assert loyalty.loyalty_points_value(100) == Decimal("5.00")
    assert_ledger_adds_up()


def test_returned_goods_give_back_their_share_of_the_points_spent_once_per_return():
    lea = CustomerFactory()
    earn(lea, "500.00", "W-1")
    services.loyalty_spend(customer=lea, points=301, reference="W-2", channel=Channel.WEB)

    def give_back(amount: str, key: str):
        return services.loyalty_spend_return(
            customer=lea,
            reference="W-2",
            amount_returned=Decimal(amount),
            total=Decimal("90.00"),
            return_reference=key,
        )

    first = give_back("30.00", "W-2-R1")  # a third: 100.33 points, rounded down
    replay = give_back("30.00", "W-2-R1")
    rest = give_back("60.00", "W-2-R2")  # the rest: all 301 points are back
    beyond = give_back("10.00", "W-2-R3")  # more than the order: nothing

    assert (first.points, replay.pk, rest.points, beyond) == (100, first.pk, 201, None)
    assert balance_of(lea) == 500
    assert (
        services.loyalty_spend_return(
            customer=lea,
            reference="W-9",
            amount_returned=Decimal(1),
            total=Decimal(1),
            return_reference="W-9-R1",
        )
        is None
    )  # nothing was spent on W-9
    assert_ledger_adds_up()


def test_spending_more_than_held_is_refused_and_writes_nothing():
    lea = CustomerFactory()
    earn(lea, "50.00", "W-1")

    with pytest.raises(loyalty.InsufficientPoints) as refused:
        services.loyalty_spend(customer=lea, points=51, reference="W-2", channel=Channel.WEB)

    assert refused.value.as_dict() == {
        "code": "insufficient_points",
        "detail": "The customer does not hold that many points.",
        "balance": 50,
        "requested": 51,
    }
    assert balance_of(lea) == 50
    assert list(LoyaltyMovement.objects.values_list("kind", flat=True)) == [Kind.EARN]


def test_a_customer_without_points_cannot_spend_and_gets_no_account():
    ines = CustomerFactory()

    with pytest.raises(loyalty.InsufficientPoints):
        services.loyalty_spend(customer=ines, points=1, reference="W-2", channel=Channel.WEB)

    assert not LoyaltyAccount.objects.exists()


@pytest.mark.parametrize("points", [0, -5])
def test_spending_zero_or_negative_points_is_invalid(points):
    lea = CustomerFactory()
    earn(lea, "50.00", "W-1")

    with pytest.raises(ValidationError):
        services.loyalty_spend(customer=lea, points=points, reference="W-2", channel=Channel.WEB)

    assert LoyaltyMovement.objects.count() == 1


def test_partial_returns_reverse_the_points_pro_rata_and_add_up_to_all():
    lea = CustomerFactory()
    earn(lea, "99.99", "W-1")  # 99 points

    first = services.loyalty_reverse(
        customer=lea,
        reference="W-1",
        amount_returned=Decimal("33.33"),
        total=Decimal("99.99"),
        return_reference="R-1",
        channel=Channel.STORE,
    )
    second = services.loyalty_reverse(
        customer=lea,
        reference="W-1",
        amount_returned=Decimal("33.33"),
        total=Decimal("99.99"),
        return_reference="R-2",
    )
    third = services.loyalty_reverse(
        customer=lea,
        reference="W-1",
        amount_returned=Decimal("33.33"),
        total=Decimal("99.99"),
        return_reference="R-3",
    )

    assert [(m.points, m.amount, m.channel) for m in (first, second, third)] == [
        (-33, Decimal("-33.33"), "store"),
        (-33, Decimal("-33.33"), "web"),  # the earning's channel when none is given
        (-33, Decimal("-33.33"), "web"),
    ]
    assert balance_of(lea) == 0
    assert_ledger_adds_up()


def test_replaying_a_return_does_nothing():
    lea = CustomerFactory()
    earn(lea, "200.00", "W-1")
    arguments = {
        "customer": lea,
        "reference": "W-1",
        "amount_returned": Decimal("50.00"),
        "total": Decimal("200.00"),
        "return_reference": "R-7",
    }

    first = services.loyalty_reverse(**arguments)
    again = services.loyalty_reverse(**arguments)

    assert (first.points, again.pk) == (-50, first.pk)
    assert balance_of(lea) == 150


def test_a_return_after_the_points_were_spent_takes_the_balance_to_zero_and_records_the_rest():
    lea = CustomerFactory()
    earn(lea, "100.00", "W-1")
    services.loyalty_spend(customer=lea, points=80, reference="W-2", channel=Channel.WEB)

    reversal = services.loyalty_reverse(
        customer=lea, reference="W-1", amount_returned=Decimal("100.00"), total=Decimal("100.00")
    )

    assert (reversal.points, reversal.shortfall) == (-20, 80)
    assert balance_of(lea) == 0
    assert_ledger_adds_up()


def test_returning_an_order_that_earned_nothing_writes_nothing():
    lea = CustomerFactory()

    reversal = services.loyalty_reverse(
        customer=lea, reference="W-9", amount_returned=Decimal("10"), total=Decimal("10")
    )

    assert reversal is None
    assert not LoyaltyAccount.objects.exists()


def test_cancelling_an_order_gives_the_spent_points_back_once():
    lea = CustomerFactory()
    earn(lea, "100.00", "W-1")
    services.loyalty_spend(customer=lea, points=60, reference="W-2", channel=Channel.APP)

    given = services.loyalty_spend_reverse(customer=lea, reference="W-2")
    again = services.loyalty_spend_reverse(customer=lea, reference="W-2")

    assert (given.kind, given.points, given.channel, again.pk) == (
        Kind.REVERSE_SPEND,
        60,
        "app",
        given.pk,
    )
    assert balance_of(lea) == 100


def test_an_adjustment_needs_a_reason_and_cannot_go_below_zero(django_user_model):
    agent = django_user_model.objects.create_user("agent")
    lea = CustomerFactory()
    earn(lea, "10.00", "W-1")

    with pytest.raises(ValidationError):
        services.loyalty_adjust(customer=lea, points=50, reason=" ", performed_by=agent)
    with pytest.raises(loyalty.InsufficientPoints):
        services.loyalty_adjust(customer=lea, points=-11, reason="error", performed_by=agent)
    gesture = services.loyalty_adjust(
        customer=lea, points=50, reason="late delivery", performed_by=agent
    )
    second = services.loyalty_adjust(customer=lea, points=5, reason="again", performed_by=agent)

    assert (gesture.points, gesture.reason, gesture.performed_by) == (50, "late delivery", agent)
    assert second.points == 5
    assert balance_of(lea) == 65
    assert LoyaltyMovement.objects.count() == 3


@pytest.mark.parametrize(
    ("spent", "tier", "next_tier", "to_next"),
    [
        ("0.00", LoyaltyTier.BRONZE, LoyaltyTier.SILVER, ("300.00", 300)),
        ("299.99", LoyaltyTier.BRONZE, LoyaltyTier.SILVER, ("0.01", 1)),
        ("300.00", LoyaltyTier.SILVER, LoyaltyTier.GOLD, ("700.00", 700)),
        ("999.50", LoyaltyTier.SILVER, LoyaltyTier.GOLD, ("0.50", 1)),
        ("1000.00", LoyaltyTier.GOLD, None, ("0.00", 0)),
    ],
)
def test_tiers_follow_the_spend_thresholds(spent, tier, next_tier, to_next):
    lea = CustomerFactory()
    earn(lea, spent, "W-1")

    summary = loyalty.loyalty_summary(customer=lea)

    assert (summary.tier, summary.next_tier) == (tier, next_tier)
    assert (summary.spend_to_next_tier, summary.points_to_next_tier) == (
        Decimal(to_next[0]),
        to_next[1],
    )


def test_the_tier_counts_twelve_months_of_purchases_less_returns(django_assert_num_queries):
    lea = CustomerFactory()
    old = earn(lea, "900.00", "W-OLD")
    LoyaltyMovement.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=366)
    )
    earn(lea, "250.00", "W-1", Channel.WEB)
    earn(lea, "150.00", "S-2", Channel.STORE)
    services.loyalty_reverse(
        customer=lea, reference="S-2", amount_returned=Decimal("60.00"), total=Decimal("150.00")
    )
    services.loyalty_spend(customer=lea, points=100, reference="W-3", channel=Channel.WEB)

    with django_assert_num_queries(1):
        summary = loyalty.loyalty_summary(customer=lea)

    assert summary == loyalty.LoyaltySummary(
        balance=900 + 250 + 150 - 60 - 100,
        tier=LoyaltyTier.SILVER,
        spend_12_months=Decimal("340.00"),
        next_tier=LoyaltyTier.GOLD,
        points_to_next_tier=660,
        spend_to_next_tier=Decimal("660.00"),
    )


def test_a_customer_without_an_account_is_bronze_with_nothing():
    summary = loyalty.loyalty_summary(customer=CustomerFactory())

    assert (summary.balance, summary.tier, summary.spend_12_months) == (
        0,
        LoyaltyTier.BRONZE,
        Decimal("0.00"),
    )


def test_a_merge_adds_the_losers_points_and_history_to_the_winner():
    winner, loser = CustomerFactory(), CustomerFactory()
    earn(winner, "100.00", "W-1")
    earn(loser, "50.00", "S-2", Channel.STORE)

    record = services.customer_merge(winner=winner, loser=loser, performed_by=None)

    account = LoyaltyAccount.objects.get(customer=winner)
    assert account.balance == 150
    assert sorted(account.movements.values_list("reference", flat=True)) == ["S-2", "W-1"]
    assert not LoyaltyAccount.objects.filter(customer=loser).exists()
    assert record.left == {}
    # A return of the loser's purchase now reverses on the winner.
    services.loyalty_reverse(
        customer=winner, reference="S-2", amount_returned=Decimal("50"), total=Decimal("50")
    )
    assert balance_of(winner) == 100
    assert_ledger_adds_up()


def test_a_merge_moves_the_only_account_as_it_is():
    winner, loser = CustomerFactory(), CustomerFactory()
    earn(loser, "70.00", "S-2", Channel.STORE)

    record = services.customer_merge(winner=winner, loser=loser, performed_by=None)

    assert balance_of(winner) == 70
    assert record.moved == {"customers.LoyaltyAccount.customer": 1}


def test_erasure_keeps_the_ledger():
    lea = CustomerFactory()
    earn(lea, "70.00", "S-2", Channel.STORE)

    services.customer_erase(customer=lea, performed_by=None, reason="request of 2 May")

    assert balance_of(lea) == 70
    assert LoyaltyMovement.objects.get().reference == "S-2"


def test_a_merged_profile_cannot_earn():
    winner, loser = CustomerFactory(), CustomerFactory()
    services.customer_merge(winner=winner, loser=loser, performed_by=None)
    loser.refresh_from_db()

    with pytest.raises(CustomerNotLive):
        earn(loser, "10", "W-1")


# --- API and admin ------------------------------------------------------------------------------
def test_the_customer_reads_her_points_tier_and_movements():
    lea, ines = CustomerFactory(), CustomerFactory()
    earn(lea, "320.00", "W-1")
    services.loyalty_spend(customer=lea, points=100, reference="S-2", channel=Channel.STORE)
    earn(ines, "50.00", "W-9")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=lea)}")

    response = client.get(reverse("v1:me-loyalty"))

    assert response.status_code == 200
    data = response.json()
    movements = [(m["kind"], m["points"], m["reference"], m["channel"]) for m in data["movements"]]
    del data["movements"]
    assert data == {
        "balance": 220,
        "balance_value": "11.00",
        "tier": "silver",
        "spend_12_months": "320.00",
        "next_tier": "gold",
        "points_to_next_tier": 680,
        "spend_to_next_tier": "680.00",
    }
    assert movements == [("spend", -100, "S-2", "store"), ("earn", 320, "W-1", "web")]


def test_staff_cannot_read_loyalty_through_the_customer_endpoint(client, make_staff):
    client.force_login(make_staff(roles.SERVICE_AGENT))

    assert client.get(reverse("v1:me-loyalty")).status_code in (401, 403)


def test_an_agent_adjusts_points_in_the_admin_with_a_reason(client, make_staff):
    agent = make_staff(roles.SERVICE_AGENT, is_staff=True)
    lea = CustomerFactory()
    earn(lea, "10.00", "W-1")
    account = LoyaltyAccount.objects.get(customer=lea)
    url = reverse("admin:customers_loyaltyaccount_adjust", args=[account.pk])
    client.force_login(agent)

    page = client.get(reverse("admin:customers_loyaltyaccount_change", args=[account.pk]))
    refused = client.post(url, {"points": "-20", "reason": "fix"})
    done = client.post(url, {"points": "15", "reason": "late delivery"})

    assert page.status_code == 200
    assert url in page.content.decode()
    assert refused.status_code == 200
    assert "does not hold" in refused.content.decode()
    assert done.status_code == 302
    movement = LoyaltyMovement.objects.get(kind=Kind.ADJUST)
    assert (movement.points, movement.reason, movement.performed_by) == (15, "late delivery", agent)
    assert balance_of(lea) == 25


def test_a_marketer_cannot_adjust_points(client, make_staff):
    lea = CustomerFactory()
    earn(lea, "10.00", "W-1")
    account = LoyaltyAccount.objects.get(customer=lea)
    client.force_login(make_staff(roles.MARKETER, is_staff=True))

    url = reverse("admin:customers_loyaltyaccount_adjust", args=[account.pk])
    response = client.post(url, {"points": "15", "reason": "why not"})

    assert response.status_code == 403
    assert balance_of(lea) == 10


# --- Concurrency --------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_tills_spending_the_same_points_at_once_cannot_both_succeed():
    lea = CustomerFactory()
    earn(lea, "100.00", "W-1")
    barrier = threading.Barrier(4)
    results: list[object] = [None] * 4

    def spend(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = services.loyalty_spend(
                customer=lea, points=60, reference=f"S-{index}", channel=Channel.STORE
            )
        except Exception as error:  # the test inspects every outcome
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    spent = [r for r in results if isinstance(r, LoyaltyMovement)]
    refused = [r for r in results if isinstance(r, loyalty.InsufficientPoints)]
    assert (len(spent), len(refused)) == (1, 3), results
    assert balance_of(lea) == 40
    assert_ledger_adds_up()
