"""Tracking events: what an open, a click, an unsubscribe link or a provider's report records.

Opens and clicks are stamped once on the message (`opened_at`, `clicked_at`) and counted as
`TrackingEvent` rows, which engagement rules, attribution and results read. The views check the
signed token first (`campaigns/tracking.py`): a forged or altered one is refused before any of
these run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Message, MessageStatus, TrackingEvent, TrackingKind
from customers import services as customer_services
from customers.models import Channel, ContactChannel, Customer, DoNotContactReason
from omni.exceptions import DomainError

# What a provider may report, and what it means for the message.
REPORTS = {
    "delivered": TrackingKind.DELIVERED,
    "soft_bounce": TrackingKind.SOFT_BOUNCE,
    "hard_bounce": TrackingKind.HARD_BOUNCE,
    "bounced": TrackingKind.HARD_BOUNCE,
    "complaint": TrackingKind.COMPLAINT,
}
# Reports after which she must not be written to on that channel again (and why).
WITHDRAWING = {
    TrackingKind.HARD_BOUNCE: DoNotContactReason.BOUNCED,
    TrackingKind.COMPLAINT: DoNotContactReason.COMPLAINT,
}


class UnknownMessage(DomainError):
    """No sent message matches the link or the provider's report."""

    code = "unknown_message"
    status_code = 404
    default_detail = _("No message matches this report.")


class UnknownReport(DomainError):
    """A provider reported a status that is not one of REPORTS."""

    code = "unknown_report"
    status_code = 400
    default_detail = _("Unknown delivery status.")


def _event(message: Message, kind: str, at: dt.datetime, **fields: Any) -> TrackingEvent:
    return TrackingEvent.objects.create(
        message=message,
        customer_id=message.customer_id,
        campaign_id=message.campaign_id,
        channel=message.channel,
        kind=kind,
        at=at,
        **fields,
    )


def _sent(message_id: int) -> Message | None:
    return (
        Message.objects.filter(pk=message_id, status=MessageStatus.SENT)
        .only("pk", "customer_id", "campaign_id", "channel")
        .first()
    )


def message_open(*, message_id: int, at: dt.datetime | None = None) -> bool:
    """Count an open of a sent message; stamp `opened_at` the first time. True if first."""
    at = at or timezone.now()
    with transaction.atomic():
        message = _sent(message_id)
        if message is None:
            return False
        first = Message.objects.filter(pk=message_id, opened_at__isnull=True).update(opened_at=at)
        _event(message, TrackingKind.OPEN, at)
    return bool(first)


def message_click(*, message_id: int, url: str, at: dt.datetime | None = None) -> bool:
    """Count a click; stamp `clicked_at` (and `opened_at`: a click proves an open, images or
    not) the first time. False when the message is unknown or was never sent."""
    at = at or timezone.now()
    with transaction.atomic():
        message = _sent(message_id)
        if message is None:
            return False
        Message.objects.filter(pk=message_id).update(
            clicked_at=Coalesce(F("clicked_at"), Value(at)),
            opened_at=Coalesce(F("opened_at"), Value(at)),
        )
        _event(message, TrackingKind.CLICK, at, url=url[:2000])
    return True


def _withdraw(
    message: Message, reason: DoNotContactReason, evidence: str, channel: Channel
) -> None:
    customer = Customer.objects.live().filter(pk=message.customer_id).first()
    if customer is None:  # merged or erased since: nothing left to withdraw
        return
    customer_services.consent_withdraw(
        customer=customer,
        channel=ContactChannel(message.channel),
        reason=reason,
        source=customer_services.ConsentSource(channel=channel, evidence=evidence),
    )


def message_unsubscribe(*, message_id: int, at: dt.datetime | None = None) -> Message:
    """Withdraw her marketing consent on the message's channel, at once, and count it against
    the campaign.

    Raises:
        UnknownMessage: no such message with a channel.
    """
    at = at or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.filter(pk=message_id)
            .exclude(channel="")
            .select_for_update()
            .only("pk", "customer_id", "campaign_id", "channel")
            .first()
        )
        if message is None:
            raise UnknownMessage()
        _withdraw(
            message,
            DoNotContactReason.UNSUBSCRIBED,
            f"unsubscribe link of message {message.pk}",
            Channel.WEB,
        )
        if not TrackingEvent.objects.filter(
            message=message, kind=TrackingKind.UNSUBSCRIBED
        ).exists():
            _event(message, TrackingKind.UNSUBSCRIBED, at)
    return message


def message_delivery_report(
    *,
    status: str,
    provider_id: str = "",
    idempotency_key: str = "",
    at: dt.datetime | None = None,
    detail: str = "",
) -> TrackingEvent | None:
    """Record what the provider says became of a message (found by its provider id or our
    idempotency key); a hard bounce or a complaint withdraws consent on that channel.
    A repeated report (providers retry webhooks) records nothing: returns None.

    Raises:
        UnknownReport: `status` is not one providers may report.
        UnknownMessage: neither the provider id nor the key matches a sent message.
    """
    kind = REPORTS.get(status)
    if kind is None:
        raise UnknownReport()
    if not provider_id and not idempotency_key:
        raise UnknownMessage()
    at = at or timezone.now()
    match = Q(provider_id=provider_id) if provider_id else Q(idempotency_key=idempotency_key)
    with transaction.atomic():
        # Locked: two deliveries of the same webhook record it once.
        message = (
            Message.objects.select_for_update()
            .filter(match)
            .exclude(channel="")
            .order_by("pk")
            .only("pk", "customer_id", "campaign_id", "channel")
            .first()
        )
        if message is None:
            raise UnknownMessage()
        if TrackingEvent.objects.filter(message=message, kind=kind).exists():
            return None
        event = _event(message, kind, at, detail=detail[:200])
        if kind in WITHDRAWING:
            _withdraw(message, WITHDRAWING[kind], f"provider report: {status}", Channel.ADMIN)
    return event
