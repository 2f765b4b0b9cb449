"""Materialisation and sending: replays, splits, claims, and a real worker sending exactly once."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, DiscountCode, Message, MessageStatus
from campaigns.selectors import campaign_progress
from customers.models import Customer
from demo import seed as demo
from tests.campaigns.factories import consent, make_campaign
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    return path


def deliveries(path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines())


def email_customers(count: int) -> list[Customer]:
    demo.seed_customers(count=count, seed=7, stores=[])
    customers = list(Customer.objects.order_by("pk"))
    for customer in customers:
        consent(customer, "email")
    return customers


def test_a_replay_inserts_and_sends_nothing(sink):
    customers = email_customers(5)
    campaign = make_campaign(discount_percent=10)
    first = services.campaign_launch(campaign=campaign)
    assert (first.messages, services.messages_send_batch(campaign_id=campaign.pk).sent) == (5, 5)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)

    again = services.campaign_launch(campaign=campaign)

    assert (again.messages, services.messages_send_batch(campaign_id=campaign.pk).claimed) == (0, 0)
    assert Message.objects.filter(campaign=campaign).count() == len(customers)
    assert set(deliveries(sink).values()) == {1}
    assert DiscountCode.objects.filter(campaign=campaign).count() == 5


def test_holdout_and_variants_split_the_audience_deterministically():
    email_customers(400)
    variants = tuple(
        services.VariantSpec(
            name=name,
            split_percent=50,
            contents=(services.ChannelContent(channel="email", subject=name, body=name),),
        )
        for name in ("A", "B")
    )
    campaign = make_campaign(variants=variants, holdout_percent=20)

    result = services.campaign_launch(campaign=campaign)

    by_variant = Counter(
        Message.objects.filter(campaign=campaign, status="pending").values_list(
            "variant__name", flat=True
        )
    )
    assert result.messages + result.held_out == 400
    assert 50 <= result.held_out <= 110
    assert 0.35 < by_variant["A"] / result.messages < 0.65
    assert Message.objects.filter(status=MessageStatus.HELD_OUT).count() == result.held_out


def test_materialisation_is_a_few_statements_whatever_the_audience():
    email_customers(300)
    campaign = make_campaign(channels=("email", "sms"), channel_mode="all")

    with CaptureQueriesContext(connection) as queries:
        services.campaign_launch(campaign=campaign)

    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "campaigns_message"')]
    assert (len(inserts), len(queries) < 15) == (2, True)
    assert Message.objects.filter(campaign=campaign).count() == 300


def test_a_claimed_row_is_not_sent_by_another_batch_and_a_stale_claim_comes_back(sink):
    email_customers(3)
    campaign = make_campaign()
    services.campaign_launch(campaign=campaign)
    Message.objects.filter(pk=Message.objects.order_by("pk").first().pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now() - timezone.timedelta(hours=1)
    )

    assert services.messages_send_batch(campaign_id=campaign.pk).sent == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # one message still out: not finished

    assert services.messages_requeue_stale() == 1
    assert services.messages_send_batch(campaign_id=campaign.pk).sent == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign_progress(campaign=campaign).finished


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_a_few_hundred_messages_exactly_once(
    worker_outbox, celery_worker_process
):
    customers = email_customers(450)
    campaign = make_campaign()

    result = services.campaign_launch(campaign=campaign)  # on commit: dispatch on the worker

    # The counts add up a moment before the worker marks the campaign sent: wait for both.
    def sent() -> bool:
        campaign.refresh_from_db()  # its current run is set by the launch
        return (
            campaign.status == CampaignStatus.SENT and campaign_progress(campaign=campaign).finished
        )

    assert wait_until(sent, timeout=60)
    progress = campaign_progress(campaign=campaign)
    assert (progress.audience, progress.sent, result.messages) == (450, 450, 450)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    counts = deliveries(worker_outbox)
    expected = set(
        Message.objects.filter(campaign=campaign).values_list("idempotency_key", flat=True)
    )
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert len(customers) == 450
