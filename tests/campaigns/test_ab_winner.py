"""Automatic A/B winner: a test share split across the variants, the winner chosen by the metric
after the delay, the rest of the audience sent only the winner, once, whatever replays happen."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import results, services, tasks
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    Message,
    MessageStatus,
)
from campaigns.models.campaign import WinnerMetric
from campaigns.services.winner import best_variant, campaign_choose_winner
from customers.models import Customer
from demo import seed as demo
from omni import roles
from tests.campaigns.factories import consent, make_campaign

pytestmark = pytest.mark.django_db

AUDIENCE = 200


@pytest.fixture
def sink(settings):
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(
        ("email", "sms", "push"), "omni.messaging.backends.NullBackend"
    )


def audience(count: int = AUDIENCE, channels=("email",)) -> list[Customer]:
    demo.seed_customers(count=count, seed=11, stores=[])
    customers = list(Customer.objects.order_by("pk"))
    for customer in customers:
        consent(customer, *channels)
    return customers


def two_variants(channels=("email",)) -> tuple[services.VariantSpec, ...]:
    return tuple(
        services.VariantSpec(
            name=name,
            split_percent=50,
            contents=tuple(
                services.ChannelContent(channel=channel, subject=f"{name} subject", body=name)
                for channel in channels
            ),
        )
        for name in ("A", "B")
    )


def ab_campaign(channels=("email",), **fields) -> Campaign:
    spec = {
        "winner_metric": WinnerMetric.OPEN_RATE,
        "winner_after": 4,
        "test_percent": 20,
        **fields,
    }
    return make_campaign(channels=channels, variants=two_variants(channels), **spec)


def winner_events(campaign: Campaign) -> int:
    return CampaignEvent.objects.filter(campaign=campaign, action=CampaignAction.WINNER).count()


def send_all(campaign: Campaign, now: dt.datetime) -> None:
    while True:
        batch = services.messages_send_batch(campaign_id=campaign.pk, now=now)
        if batch.claimed == batch.waiting:  # nothing left, or only what quiet hours hold back
            return


def variants_per_customer(campaign: Campaign) -> Counter:
    pairs = (
        Message.objects.filter(campaign=campaign)
        .exclude(variant=None)
        .order_by()
        .values_list("customer_id", "variant__name")
        .distinct()
    )
    return Counter(customer_id for customer_id, _name in pairs)


def test_the_winner_by_open_rate_goes_to_the_rest_of_the_audience_after_the_delay(sink):
    # Given a 20% test of A against B, four hours, by open rate
    customers = audience()
    campaign = ab_campaign()
    launched = timezone.now()
    launch = services.campaign_launch(campaign=campaign, now=launched)
    test = Counter(
        Message.objects.filter(campaign=campaign).values_list("variant__name", flat=True)
    )
    assert 0.15 * AUDIENCE <= launch.messages <= 0.25 * AUDIENCE
    assert set(test) == {"A", "B"}
    assert min(test.values()) >= 0.35 * launch.messages
    send_all(campaign, launched)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # waiting for its winner, not finished
    assert campaign.winner_due_at == launched + dt.timedelta(hours=4)
    # B's readers open it more: every B and one A message
    for message in Message.objects.filter(campaign=campaign, variant__name="B"):
        services.message_open(message_id=message.pk)
    services.message_open(message_id=Message.objects.filter(variant__name="A").first().pk)

    # When the delay is not over, nothing happens
    assert campaign_choose_winner(campaign=campaign, now=launched + dt.timedelta(hours=3)) is None
    assert Message.objects.filter(campaign=campaign).count() == launch.messages

    # When it is
    chosen = campaign_choose_winner(campaign=campaign, now=launched + dt.timedelta(hours=4))

    # Then B wins, is recorded, and goes to everyone else, only B
    assert chosen is not None
    assert chosen.variant.name == "B"
    assert chosen.scores["B"] == 1.0
    assert chosen.scores["A"] == pytest.approx(1 / test["A"])
    assert chosen.messages == AUDIENCE - launch.messages
    campaign.refresh_from_db()
    assert campaign.winner_variant.name == "B"
    event = CampaignEvent.objects.get(campaign=campaign, action=CampaignAction.WINNER)
    assert event.detail["variant"] == "B"
    assert event.detail["metric"] == "open_rate"
    remainder = Message.objects.filter(
        campaign=campaign, created_at=launched + dt.timedelta(hours=4)
    )
    assert set(remainder.values_list("variant__name", flat=True)) == {"B"}
    assert set(variants_per_customer(campaign).values()) == {1}
    assert len(variants_per_customer(campaign)) == len(customers)
    send_all(campaign, launched + dt.timedelta(hours=4))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == AUDIENCE
    assert results.campaign_results(campaign=campaign).winner.label == "B"


def test_replaying_the_winner_task_or_a_second_sweep_does_nothing(sink, monkeypatch):
    audience(60)
    campaign = ab_campaign(winner_metric=WinnerMetric.CLICK_RATE, winner_after=1)
    launched = timezone.now() - dt.timedelta(hours=2)
    first = services.campaign_launch(campaign=campaign, now=launched)
    send_all(campaign, launched)
    # A second scheduler launches it again later: nothing new, and the winner is not put off
    assert services.campaign_launch(campaign=campaign).messages == 0
    campaign.refresh_from_db()
    assert campaign.winner_due_at == launched + dt.timedelta(hours=1)
    assert Message.objects.filter(campaign=campaign).count() == first.messages
    queued = []
    monkeypatch.setattr(tasks.choose_winner, "delay", lambda **kw: queued.append(kw))
    monkeypatch.setattr(tasks.dispatch_campaign, "delay", lambda **kw: None)

    # Two beat schedulers sweep: both queue the task, it runs twice (and is redelivered)
    tasks.sweep_messages()
    tasks.sweep_messages()
    for kwargs in queued:
        tasks.choose_winner(**kwargs)
    after_first = Message.objects.filter(campaign=campaign).count()
    tasks.choose_winner(campaign_id=campaign.pk)

    assert queued == [{"campaign_id": campaign.pk}] * 2
    assert winner_events(campaign) == 1
    assert Message.objects.filter(campaign=campaign).count() == after_first == 60
    tasks.sweep_messages()
    assert len(queued) == 2  # chosen: no longer queued
    assert services.campaign_launch(campaign=campaign).messages == 0  # a late replay
    assert set(variants_per_customer(campaign).values()) == {1}


def test_a_tie_goes_to_variant_a_and_a_cancelled_test_picks_nothing(sink):
    audience(40)
    tied = ab_campaign(name="Tied")
    cancelled = ab_campaign(name="Cancelled")
    launched = timezone.now() - dt.timedelta(hours=5)
    for campaign in (tied, cancelled):
        services.campaign_launch(campaign=campaign, now=launched)
    services.campaign_cancel(campaign=cancelled)

    assert campaign_choose_winner(campaign=tied).variant.name == "A"  # nobody opened either
    assert campaign_choose_winner(campaign=cancelled) is None
    cancelled.refresh_from_db()
    assert cancelled.winner_variant is None
    assert not CampaignEvent.objects.filter(campaign=cancelled, action=CampaignAction.WINNER)


def test_in_all_channels_mode_the_rest_gets_the_winner_on_each_channel_and_nobody_two_variants(
    sink,
):
    audience(100, channels=("email", "sms"))
    campaign = ab_campaign(channels=("email", "sms"), channel_mode="all", test_percent=30)
    launched = timezone.now() - dt.timedelta(hours=5)
    launch = services.campaign_launch(campaign=campaign, now=launched)

    chosen = campaign_choose_winner(campaign=campaign)

    assert launch.messages + chosen.messages == 200  # every customer on both channels
    assert set(variants_per_customer(campaign).values()) == {1}
    per_customer = Counter(
        Message.objects.filter(campaign=campaign).values_list("customer_id", flat=True)
    )
    assert set(per_customer.values()) == {2}


def test_holdout_customers_stay_out_of_the_test_and_of_the_rest(sink):
    audience(200)
    campaign = ab_campaign(holdout_percent=10)
    launched = timezone.now() - dt.timedelta(hours=5)
    launch = services.campaign_launch(campaign=campaign, now=launched)

    chosen = campaign_choose_winner(campaign=campaign)

    held_out = set(
        Message.objects.filter(campaign=campaign, status=MessageStatus.HELD_OUT).values_list(
            "customer_id", flat=True
        )
    )
    sent_to = set(
        Message.objects.filter(campaign=campaign)
        .exclude(status=MessageStatus.HELD_OUT)
        .values_list("customer_id", flat=True)
    )
    assert launch.held_out == len(held_out) > 0
    assert chosen.held_out == 0  # already written at launch
    assert held_out.isdisjoint(sent_to)
    assert len(held_out) + len(sent_to) == 200


def test_revenue_per_message_and_conversion_rate_rank_the_variants():
    a = results.Figures(
        label="A", key=1, sent=100, delivered=100, converted=2, revenue=Decimal(500)
    )
    b = results.Figures(label="B", key=2, sent=50, delivered=50, converted=2, revenue=Decimal(300))

    assert best_variant([a, b], metric=WinnerMetric.REVENUE_PER_MESSAGE).label == "B"  # 6 > 5
    assert best_variant([a, b], metric=WinnerMetric.CONVERSION_RATE).label == "B"  # 4% > 2%
    assert best_variant([a, b], metric=WinnerMetric.OPEN_RATE).label == "A"  # 0 = 0: A
    assert a.revenue_per_message == Decimal("5.00")


@pytest.mark.django_db(transaction=True)
def test_two_pickers_at_once_choose_one_winner_and_send_the_rest_once(sink):
    audience(80)
    campaign = ab_campaign()
    services.campaign_launch(campaign=campaign, now=timezone.now() - dt.timedelta(hours=5))
    barrier = threading.Barrier(2)
    outcomes = []

    def pick() -> None:
        try:
            barrier.wait()
            outcomes.append(campaign_choose_winner(campaign=campaign))
        finally:
            connection.close()

    threads = [threading.Thread(target=pick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert winner_events(campaign) == 1
    assert Message.objects.filter(campaign=campaign).count() == 80
    assert set(variants_per_customer(campaign).values()) == {1}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"winner_metric": WinnerMetric.OPEN_RATE, "test_percent": 20}, "winner_after"),
        ({"winner_after": 4}, "winner_metric"),
        ({"test_percent": 20}, "test_percent"),
        ({"winner_metric": "likes", "winner_after": 4, "test_percent": 20}, "winner_metric"),
        ({"winner_metric": WinnerMetric.OPEN_RATE, "winner_after": 4}, "test_percent"),
        (
            {"winner_metric": WinnerMetric.OPEN_RATE, "winner_after": 0, "test_percent": 20},
            "winner_after",
        ),
        (
            {
                "winner_metric": WinnerMetric.OPEN_RATE,
                "winner_after": 4,
                "test_percent": 20,
                "schedule": services.Schedule(kind="recurring", recurrence="0 9 * * 1"),
            },
            "winner_metric",
        ),
    ],
)
def test_bad_winner_specs_are_refused_and_nothing_is_written(fields, field):
    with pytest.raises(ValidationError) as refused:
        make_campaign(variants=two_variants(), **fields)

    assert field in refused.value.message_dict
    assert not Campaign.objects.exists()


def test_a_winner_needs_two_variants():
    with pytest.raises(ValidationError) as refused:
        make_campaign(winner_metric=WinnerMetric.CLICK_RATE, winner_after=4, test_percent=20)

    assert refused.value.message_dict["variants"] == [
        "An automatic winner needs at least two variants."
    ]
    assert not Campaign.objects.exists()


def test_the_results_page_names_the_winner(client, make_staff, sink, django_assert_max_num_queries):
    audience(20)
    campaign = ab_campaign(name="Soldes")
    services.campaign_launch(campaign=campaign, now=timezone.now() - dt.timedelta(hours=5))
    client.force_login(make_staff(roles.MARKETER))
    url = reverse("campaigns:campaign-results", args=[campaign.pk])
    before = client.get(url).content.decode()
    campaign_choose_winner(campaign=campaign)

    with django_assert_max_num_queries(12):
        after = client.get(url).content.decode()

    assert "A/B test on 20% of the audience" in before
    assert "Winner: variant A, by Open rate" in after
