"""Consents per channel: an append-only history and the current state, written together."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from customers.exceptions import CustomerNotLive, NoAddress
from customers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    DoNotContactReason,
    OptInLevel,
)
from inventory.models import Location


@dataclass(frozen=True)
class ConsentSource:
    """Where and how a consent decision was collected."""

    channel: Channel
    store: Location | None = None
    text_version: str = ""
    evidence: str = ""  # e.g. the IP address or the signed link used


def _record(
    *,
    customer: Customer,
    channel: ContactChannel,
    action: ConsentAction,
    opt_in_level: str,
    reason: str,
    source: ConsentSource,
    performed_by: User | None,
) -> ConsentState:
    if not customer.is_live:
        raise CustomerNotLive()
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            action=action,
            opt_in_level=opt_in_level,
            reason=reason,
            source_channel=source.channel,
            store=source.store,
            text_version=source.text_version,
            evidence=source.evidence,
            performed_by=performed_by,
        )
        # update_or_create locks the state row (select_for_update): concurrent decisions queue.
        state, _created = ConsentState.objects.update_or_create(
            customer=customer,
            channel=channel,
            defaults={
                "granted": action == ConsentAction.GRANTED,
                "opt_in_level": opt_in_level,
                "reason": reason,
                "last_event": event,
                "updated_at": timezone.now(),
            },
        )
    return state


def consent_grant(
    *,
    customer: Customer,
    channel: ContactChannel,
    source: ConsentSource,
    opt_in_level: OptInLevel = OptInLevel.SINGLE,
    performed_by: User | None = None,
) -> ConsentState:
    """Record that the customer agrees to marketing on `channel`; return the current state.

    Raises:
        NoAddress: email or SMS consent for a customer without an email or phone.
        CustomerNotLive: the profile was merged or erased.
    """
    if (channel == ContactChannel.EMAIL and not customer.email) or (
        channel == ContactChannel.SMS and not customer.phone
    ):
        raise NoAddress()
    return _record(
        customer=customer,
        channel=channel,
        action=ConsentAction.GRANTED,
        opt_in_level=opt_in_level,
        reason=DoNotContactReason.NONE,
        source=source,
        performed_by=performed_by,
    )


def consent_withdraw(
    *,
    customer: Customer,
    channel: ContactChannel,
    source: ConsentSource,
    reason: DoNotContactReason = DoNotContactReason.UNSUBSCRIBED,
    performed_by: User | None = None,
) -> ConsentState:
    """Record that the customer must not get marketing on `channel` (and why).

    A bounce or a complaint also stops transactional messages on that channel.

    Raises:
        CustomerNotLive: the profile was merged or erased.
    """
    return _record(
        customer=customer,
        channel=channel,
        action=ConsentAction.WITHDRAWN,
        opt_in_level="",
        reason=reason or DoNotContactReason.MANUAL,
        source=source,
        performed_by=performed_by,
    )
