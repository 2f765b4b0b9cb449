"""Attribution: orders from any channel credited to the messages that touched her within the
window (last touch, and a linear multi-touch share); the sweep over new orders."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import Attribution, AttributionWatermark
from campaigns.results import campaign_results
from customers.models import Channel
from orders.models import Fulfilment, FulfilmentKind, FulfilmentStatus, Order, OrderStatus
from tests.campaigns.factories import OrderFactory, make_campaign, order_placed
from tests.campaigns.tracked import sent_message, touch
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory

pytestmark = pytest.mark.django_db


def placed(customer, *, days_ago: float, kind=FulfilmentKind.CLICK_AND_COLLECT, **fields) -> Order:
    order = order_placed(days_ago=days_ago, customer=customer, **fields)
    status = FulfilmentStatus.COMPLETED if kind == FulfilmentKind.STORE_SALE else "placed"
    Fulfilment.objects.create(
        order=order,
        kind=kind,
        status=status,
        reference=f"F-{uuid.uuid4().hex[:10]}",
        location=StoreFactory(),
    )
    return order


def test_an_email_click_then_a_click_and_collect_order_is_attributed_to_the_email():
    # Scenario 1's tail: she clicks the abandoned-cart email, then checks out in the app with
    # click-and-collect three days later.
    customer = CustomerFactory()
    campaign = make_campaign(name="Relance panier")
    email = sent_message(campaign=campaign, customer=customer, days_ago=5)
    touch(email, "click", days_ago=4)
    order = placed(customer, days_ago=1, channel=Channel.APP, total=Decimal("89.90"))

    [row] = services.order_attribute(order=order)

    assert (row.message_id, row.campaign_id, row.touch, row.is_last_touch) == (
        email.pk,
        campaign.pk,
        "click",
        True,
    )
    assert (row.weight, row.revenue_share, row.order_total) == (
        Decimal("1.000000"),
        Decimal("89.90"),
        Decimal("89.90"),
    )
    total = campaign_results(campaign=campaign).total
    assert (total.converted, total.revenue) == (1, Decimal("89.90"))


def test_a_till_sale_counts_too():
    customer = CustomerFactory()
    email = sent_message(campaign=make_campaign(), customer=customer, days_ago=3)
    touch(email, "open", days_ago=2)
    order = placed(customer, days_ago=1, channel=Channel.STORE, kind=FulfilmentKind.STORE_SALE)

    [row] = services.order_attribute(order=order)

    assert (row.message_id, row.touch, row.is_last_touch) == (email.pk, "open", True)


@pytest.mark.parametrize(
    ("channel", "kind", "touched_days_before", "attributed"),
    [
        ("email", "click", 4.9, True),
        ("email", "click", 5.1, False),
        ("email", "open", 4.9, True),
        ("sms", "click", 0.9, True),
        ("sms", "click", 1.1, False),
        ("push", "click", 1.1, False),
        ("sms", "open", 0.1, False),  # no window for an SMS "open"
    ],
)
def test_only_touches_within_their_channel_window_count(
    channel, kind, touched_days_before, attributed
):
    customer = CustomerFactory()
    message = sent_message(campaign=make_campaign(), customer=customer, channel=channel, days_ago=9)
    touch(message, kind, days_ago=2 + touched_days_before)
    order = placed(customer, days_ago=2)

    rows = services.order_attribute(order=order)

    assert bool(rows) is attributed
    assert Attribution.objects.count() == (1 if attributed else 0)


def test_no_credit_for_touches_after_the_order_other_customers_or_cancelled_orders():
    customer, other = CustomerFactory(), CustomerFactory()
    campaign = make_campaign()
    hers = sent_message(campaign=campaign, customer=customer, days_ago=9)
    touch(hers, "click", days_ago=1)  # after the order
    touch(sent_message(campaign=campaign, customer=other, days_ago=9), "click", days_ago=3)
    order = placed(customer, days_ago=2)
    cancelled = placed(other, days_ago=2, status=OrderStatus.CANCELLED)

    assert services.order_attribute(order=order) == []
    assert services.order_attribute(order=cancelled) == []


def test_multi_touch_shares_sum_to_one_and_the_latest_touch_is_the_last_touch():
    customer = CustomerFactory()
    touches = [
        ("email", "open", 4),
        ("email", "click", 2),
        ("sms", "click", 0.5),
    ]
    messages = []
    for index, (channel, kind, days_ago) in enumerate(touches):
        campaign = make_campaign(name=f"Touch {index}", channels=(channel,))
        message = sent_message(campaign=campaign, customer=customer, channel=channel, days_ago=6)
        touch(message, kind, days_ago=days_ago)
        messages.append(message)
    order = placed(customer, days_ago=0.25, total=Decimal("100.00"))

    rows = services.order_attribute(order=order)

    assert len(rows) == 3
    assert sum(row.weight for row in rows) == Decimal("1")
    assert sum(row.revenue_share for row in rows) == Decimal("100.00")
    assert sorted(row.revenue_share for row in rows) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert [row.message_id for row in rows if row.is_last_touch] == [messages[2].pk]


def test_attributing_twice_writes_nothing_more():
    customer = CustomerFactory()
    touch(sent_message(campaign=make_campaign(), customer=customer, days_ago=3), days_ago=2)
    order = placed(customer, days_ago=1)

    services.order_attribute(order=order)
    services.order_attribute(order=order)

    assert Attribution.objects.count() == 1


def test_the_sweep_takes_new_settled_orders_once_and_moves_its_watermark():
    customer = CustomerFactory()
    touch(sent_message(campaign=make_campaign(), customer=customer, days_ago=3), days_ago=2)
    older = placed(customer, days_ago=1)
    untouched = placed(CustomerFactory(), days_ago=1)
    just_now = OrderFactory(customer=customer)  # its checkout may still be committing

    tasks.attribute_orders()

    assert set(Attribution.objects.values_list("order_id", flat=True)) == {older.pk}
    assert AttributionWatermark.objects.get().last_order_id == untouched.pk
    later = timezone.now() + dt.timedelta(minutes=2)
    assert services.orders_attribute_new(now=later) == 1
    assert services.orders_attribute_new(now=later) == 0
    assert set(Attribution.objects.values_list("order_id", flat=True)) == {older.pk, just_now.pk}


def test_the_sweep_goes_in_batches():
    customer = CustomerFactory()
    touch(sent_message(campaign=make_campaign(), customer=customer, days_ago=3), days_ago=2)
    orders = [placed(customer, days_ago=1) for _ in range(3)]

    first = services.orders_attribute_new(batch_size=2)
    second = services.orders_attribute_new(batch_size=2)

    assert (first, second) == (2, 1)
    assert AttributionWatermark.objects.get().last_order_id == orders[-1].pk
