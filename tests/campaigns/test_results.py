"""Results on hand-built data: per variant, holdout lift, channel-mix comparison; and the
engagement segment fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import channel_mix, results, services
from campaigns.models import Campaign, MessageStatus
from campaigns.segments import SegmentRuleError
from campaigns.selectors import segment_customers
from orders.models import Order, OrderStatus
from tests.campaigns.factories import make_campaign, order_placed
from tests.campaigns.tracked import sent_message, touch
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def two_variants():
    return tuple(
        services.VariantSpec(
            name=name,
            split_percent=50,
            contents=(services.ChannelContent(channel="email", subject=name, body=name),),
        )
        for name in ("A", "B")
    )


def bought_after(message, *, total: str, days_ago: float = 1):
    order = order_placed(days_ago=days_ago, customer=message.customer, total=Decimal(total))
    services.order_attribute(order=order)
    return order


def test_campaign_results_per_variant_and_lift_over_the_holdout():
    campaign = make_campaign(variants=two_variants(), holdout_percent=20)
    a, b = campaign.variants.order_by("name")
    c1, c2, c3, c4, c5, c6, h1, h2 = (CustomerFactory() for _ in range(8))
    m = {
        customer: sent_message(campaign=campaign, customer=customer, variant=a, days_ago=3)
        for customer in (c1, c2, c3, c4)
    }
    m |= {
        customer: sent_message(campaign=campaign, customer=customer, variant=b, days_ago=3)
        for customer in (c5, c6)
    }
    for customer in (h1, h2):
        sent_message(
            campaign=campaign, customer=customer, days_ago=3, status=MessageStatus.HELD_OUT
        )
    touch(m[c1], "open", days_ago=2.5)
    touch(m[c2], "click", days_ago=2)
    services.message_delivery_report(provider_id=m[c3].provider_id, status="hard_bounce")
    services.message_unsubscribe(message_id=m[c4].pk)
    touch(m[c5], "click", days_ago=2)
    bought_after(m[c2], total="60.00")
    bought_after(m[c5], total="40.00")
    order_placed(days_ago=1, customer=h1, total=Decimal("25.00"))  # bought without a message
    order_placed(days_ago=20, customer=h2, total=Decimal("25.00"))  # before: not in the window

    figures = results.campaign_results(campaign=campaign)
    lift = results.holdout_lift(campaign=campaign)

    by_name = {row.label: row for row in figures.variants}
    got = {
        name: (r.sent, r.delivered, r.opened, r.clicked, r.converted, r.revenue, r.unsubscribed)
        for name, r in by_name.items()
    }
    assert got == {
        "A": (4, 3, 2, 1, 1, Decimal("60.00"), 1),
        "B": (2, 2, 1, 1, 1, Decimal("40.00"), 0),
    }
    total = figures.total
    assert (total.sent, total.delivered, total.opened, total.converted, total.revenue) == (
        6,
        5,
        3,
        2,
        Decimal("100.00"),
    )
    assert (by_name["A"].delivery_rate, by_name["A"].open_rate) == (0.75, 2 / 3)
    assert (by_name["A"].unsubscribe_rate, by_name["B"].conversion_rate) == (1 / 3, 0.5)
    assert (lift.receivers, lift.receivers_buyers, lift.holdout, lift.holdout_buyers) == (
        6,
        2,
        2,
        1,
    )
    assert lift.lift_points == pytest.approx((2 / 6 - 1 / 2) * 100)
    assert lift.lift_relative == pytest.approx((1 / 3) / 0.5 - 1)


def launched(campaign: Campaign, *, days_ago: float) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(
        launched_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return campaign


def test_one_channel_versus_two_versus_three_or_more():
    one = launched(make_campaign(name="One", channels=("email",)), days_ago=42)
    two = launched(make_campaign(name="Two", channels=("email", "sms")), days_ago=42)
    three = launched(make_campaign(name="Three", channels=("email", "sms", "push")), days_ago=42)
    a, b, c, d, e = (CustomerFactory() for _ in range(5))
    to_a = sent_message(campaign=one, customer=a, days_ago=42)
    sent_message(campaign=one, customer=b, days_ago=42)
    sent_message(campaign=two, customer=c, days_ago=42)
    to_c_by_sms = sent_message(campaign=two, customer=c, channel="sms", days_ago=42)
    sent_message(campaign=three, customer=d, days_ago=42)
    sent_message(campaign=three, customer=e, channel="push", days_ago=42)
    touch(to_a, "click", days_ago=41)
    bought_after(to_a, total="50.00", days_ago=40)
    order_placed(days_ago=10, customer=a, total=Decimal("30.00"))  # again, within 90 days
    touch(to_c_by_sms, "click", days_ago=40.5)
    bought_after(to_c_by_sms, total="80.00", days_ago=40)

    mix = channel_mix.channel_mix()

    got = [
        (g.label, g.campaigns, g.recipients, g.engaged, g.buyers, g.orders, g.revenue, g.retained)
        for g in mix
    ]
    assert got == [
        ("1", 1, 2, 1, 1, 1, Decimal("50.00"), 1),
        ("2", 1, 1, 1, 1, 1, Decimal("80.00"), 0),
        ("3+", 1, 2, 0, 0, 0, Decimal("0"), 0),
    ]
    assert [(g.engagement_rate, g.purchase_rate, g.retention_rate) for g in mix] == [
        (0.5, 0.5, 1.0),
        (1.0, 1.0, 0.0),
        (0.0, 0.0, 0.0),
    ]
    assert [g.average_order_value for g in mix] == [
        Decimal("50.00"),
        Decimal("80.00"),
        Decimal("0.00"),
    ]


def test_results_are_a_fixed_number_of_queries(django_assert_max_num_queries):
    campaign = make_campaign()
    for _ in range(20):
        message = sent_message(campaign=campaign, customer=CustomerFactory(), days_ago=3)
        touch(message, "click", days_ago=2)
        bought_after(message, total="10.00")
    launched(campaign, days_ago=3)

    with django_assert_max_num_queries(8):
        results.campaign_results(campaign=campaign)
        results.holdout_lift(campaign=campaign)
        results.campaigns_overview()
        channel_mix.channel_mix()


# --- engagement segment fields ------------------------------------------------------------------


def members(rules) -> set[int]:
    return set(segment_customers(rules=rules).values_list("pk", flat=True))


def test_received_opened_and_clicked_in_the_last_n_days_per_channel():
    campaign = make_campaign(channels=("email", "sms"))
    recent_email, old_email, recent_sms, never = (CustomerFactory() for _ in range(4))
    opened = sent_message(campaign=campaign, customer=recent_email, days_ago=2)
    touch(opened, "open", days_ago=1)
    clicked = sent_message(campaign=campaign, customer=recent_sms, channel="sms", days_ago=2)
    touch(clicked, "click", days_ago=1)
    old = sent_message(campaign=campaign, customer=old_email, days_ago=40)
    touch(old, "click", days_ago=39)
    sent_message(campaign=campaign, customer=never, days_ago=1, status=MessageStatus.PENDING)

    assert members({"field": "received", "op": "within_days", "value": 7}) == {
        recent_email.pk,
        recent_sms.pk,
    }
    assert members({"field": "received", "op": "within_days", "value": 7, "channel": "email"}) == {
        recent_email.pk
    }
    # A click proves an open.
    assert members({"field": "opened", "op": "within_days", "value": 7}) == {
        recent_email.pk,
        recent_sms.pk,
    }
    assert members({"field": "clicked", "op": "within_days", "value": 60}) == {
        recent_sms.pk,
        old_email.pk,
    }
    assert members({"field": "clicked", "op": "within_days", "value": 60, "channel": "sms"}) == {
        recent_sms.pk
    }
    assert members(
        {
            "all": [
                {"field": "received", "op": "within_days", "value": 60},
                {"field": "opened", "op": "not_within_days", "value": 30},
            ]
        }
    ) == {old_email.pk}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"field": "opened", "op": "within_days", "value": "7"}, "value"),
        ({"field": "clicked", "op": "within_days", "value": 7, "channel": "fax"}, "channel"),
        ({"field": "received", "op": "gte", "value": 7}, "op"),
    ],
)
def test_bad_engagement_rules_are_refused_naming_the_rule(rule, path):
    with pytest.raises(SegmentRuleError) as refused:
        segment_customers(rules=rule)

    assert refused.value.path == path


# --- channel mix -------------------------------------------------------------------------------


def mixed_campaigns():
    """The channel-mix cases: several runs to one customer, a customer in two campaigns, a
    cancelled order, two conversions of one buyer, retention inside and past 90 days, and an old
    campaign (before the year compared)."""
    one = launched(make_campaign(name="One", channels=("email",)), days_ago=150)
    two = launched(make_campaign(name="Two", channels=("email", "sms")), days_ago=150)
    three = launched(make_campaign(name="Three", channels=("email", "sms", "push")), days_ago=150)
    old = launched(make_campaign(name="Old", channels=("sms",)), days_ago=400)
    a, b, c, d, e, f = (CustomerFactory() for _ in range(6))
    to_a = sent_message(campaign=one, customer=a, days_ago=150)
    sent_message(campaign=one, customer=a, days_ago=149)  # a second run: still one recipient
    to_b = sent_message(campaign=one, customer=b, days_ago=150)
    to_c = sent_message(campaign=two, customer=c, channel="sms", days_ago=150)
    to_a_again = sent_message(campaign=two, customer=a, days_ago=150)
    to_d = sent_message(campaign=three, customer=d, channel="push", days_ago=150)
    sent_message(campaign=three, customer=e, days_ago=150, status=MessageStatus.HELD_OUT)
    to_f = sent_message(campaign=old, customer=f, days_ago=400)
    touch(to_a, "open", days_ago=149.5)
    touch(to_c, "click", days_ago=149.5)
    touch(to_d, "click", days_ago=149.5)
    bought_after(to_a, total="50.00", days_ago=149)
    bought_after(to_a, total="20.00", days_ago=148)  # her second conversion: one buyer
    order_placed(days_ago=100, customer=a, total=Decimal("30.00"))  # back within 90 days
    cancelled = bought_after(to_b, total="99.00", days_ago=149)
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)
    bought_after(to_c, total="80.00", days_ago=149)
    order_placed(days_ago=20, customer=c, total=Decimal("15.00"))  # back, but past 90 days
    bought_after(to_d, total="12.34", days_ago=149)
    order_placed(days_ago=148, customer=d, total=Decimal("5.00"), status=OrderStatus.CANCELLED)
    bought_after(to_f, total="10.00", days_ago=399)  # the old campaign: not counted
    return to_a_again


def test_the_channel_mix_counts_each_group_in_one_query(django_assert_max_num_queries):
    mixed_campaigns()

    with django_assert_max_num_queries(1):
        mix = channel_mix.channel_mix()

    got = [
        (g.label, g.campaigns, g.recipients, g.engaged, g.buyers, g.orders, g.revenue, g.retained)
        for g in mix
    ]
    assert got == [
        ("1", 1, 2, 1, 1, 2, Decimal("70.00"), 1),
        ("2", 1, 2, 1, 1, 1, Decimal("80.00"), 0),
        ("3+", 1, 1, 1, 1, 1, Decimal("12.34"), 0),
    ]


def test_the_channel_mix_without_campaigns_shows_empty_groups():
    mix = channel_mix.channel_mix()

    assert [(g.label, g.recipients, g.revenue) for g in mix] == [
        ("1", 0, Decimal("0.00")),
        ("2", 0, Decimal("0.00")),
        ("3+", 0, Decimal("0.00")),
    ]
