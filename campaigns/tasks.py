"""Campaigns tasks: ids in, one service call, idempotent (delivery is at least once)."""

from __future__ import annotations

import math

from celery import shared_task
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.services import winner


@shared_task(name="campaigns.launch_campaign")
def launch_campaign(campaign_id: int) -> None:
    """Launch a scheduled campaign (beat's clocked or crontab schedule calls this)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    services.campaign_launch(campaign=campaign)


@shared_task(name="campaigns.dispatch_campaign")
def dispatch_campaign(campaign_id: int) -> None:
    """Queue enough batch tasks for the campaign's due messages (extra tasks find nothing)."""
    due = Message.objects.filter(
        campaign_id=campaign_id, status=MessageStatus.PENDING, not_before__lte=timezone.now()
    ).count()
    for _batch in range(math.ceil(due / services.BATCH_SIZE)):
        send_batch.delay(campaign_id=campaign_id)


@shared_task(name="campaigns.send_batch")
def send_batch(campaign_id: int) -> None:
    """Send one batch of due messages of a campaign."""
    services.messages_send_batch(campaign_id=campaign_id)


@shared_task(name="campaigns.choose_winner")
def choose_winner(campaign_id: int) -> None:
    """Pick an A/B test's winner and send it to the rest (a replay or a late duplicate: no-op)."""
    winner.campaign_choose_winner(campaign=Campaign.objects.get(pk=campaign_id))


@shared_task(name="campaigns.sweep_messages")
def sweep_messages() -> None:
    """Every minute: give back stale claims, queue due A/B winners, then dispatch campaigns
    with due messages."""
    services.messages_requeue_stale()
    due = winner.campaigns_awaiting_winner(now=timezone.now()).values_list("pk", flat=True)
    for campaign_id in list(due):
        choose_winner.delay(campaign_id=campaign_id)
    sending = Campaign.objects.filter(status=CampaignStatus.SENDING).values_list("pk", flat=True)
    for campaign_id in list(sending):
        if not services.campaign_finish_if_done(campaign_id=campaign_id):
            dispatch_campaign.delay(campaign_id=campaign_id)


@shared_task(name="campaigns.attribute_orders")
def attribute_orders() -> None:
    """Every few minutes: credit new orders (any channel) to the messages that touched them."""
    services.orders_attribute_new()


@shared_task(name="campaigns.enrol_automations")
def enrol_automations() -> None:
    """Every minute: enrol customers whose automation trigger holds (once per trigger)."""
    services.automations_enrol()


@shared_task(name="campaigns.run_automation_steps")
def run_automation_steps() -> None:
    """Every minute: send the automations' due steps, after letting converted customers leave."""
    services.automation_steps_run()
