"""Helpers for the tracking, attribution and results tests: sent messages and touches, built
directly (the sending pipeline has its own tests)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from campaigns.models import Campaign, Message, MessageStatus, TrackingEvent, TrackingKind
from customers.models import Customer
from tests.campaigns.factories import SentMessageFactory


def sent_message(
    *,
    campaign: Campaign,
    customer: Customer,
    channel: str = "email",
    days_ago: float = 10,
    variant=None,
    status: str = MessageStatus.SENT,
) -> Message:
    at = timezone.now() - dt.timedelta(days=days_ago)
    held_out = status == MessageStatus.HELD_OUT
    variant = None if held_out else variant or campaign.variants.order_by("name").first()
    return SentMessageFactory(
        campaign=campaign,
        variant=variant,
        customer=customer,
        channel="" if held_out else channel,
        status=status,
        at=at,
        sent_at=at if status == MessageStatus.SENT else None,
        provider_id=f"prov-{uuid.uuid4().hex[:12]}" if status == MessageStatus.SENT else "",
    )


def touch(message: Message, kind: str = TrackingKind.CLICK, *, days_ago: float) -> TrackingEvent:
    """An open or a click `days_ago` days ago, stamped on the message as the services do."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    stamp = {"clicked_at": at, "opened_at": at} if kind == TrackingKind.CLICK else {"opened_at": at}
    Message.objects.filter(pk=message.pk).update(**stamp)
    return TrackingEvent.objects.create(
        message=message,
        customer_id=message.customer_id,
        campaign_id=message.campaign_id,
        channel=message.channel,
        kind=kind,
        at=at,
    )
