"""bench/campaign.py's baseline: the per-customer ORM loop a first version might write.

For each customer of the segment (read once, lowest ids first) it asks the database, one
customer at a time, what campaigns/rules.py asks for the whole audience in one statement:
consents and addresses (and the channel to use in "preferred" mode), the frequency cap, recent
purchases of the promoted product, a message of this run already there; then it creates the
message with the ORM. It runs in a transaction that is rolled back, and returns what it would
have sent so the caller can check it agrees with `materialise`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass


class _RolledBack(Exception):
    pass


@dataclass(frozen=True)
class LoopResult:
    seconds: float
    examined: int
    created: frozenset[tuple[int, str]]  # (customer id, channel)


def _usable_channels(customer, campaign, consents: set[str]) -> list[str]:
    addresses = {
        "email": lambda: customer.email,
        "sms": lambda: customer.phone,
        "push": lambda: customer.devices.filter(active=True).exists(),  # an app installation
    }
    return [
        channel
        for channel in campaign.channel_list
        if channel in consents and addresses[channel]() and not customer.suppressed
    ]


def _channels(customer, campaign, usable: list[str]) -> list[str]:
    from campaigns.models import ChannelMode

    if campaign.channel_mode == ChannelMode.ALL or not usable:
        return usable
    return [customer.preferred_channel if customer.preferred_channel in usable else usable[0]]


def _blocked(customer, campaign, *, run: str, now: dt.datetime) -> bool:
    """Frequency cap, recent buyer of the promoted product, or already reached by this run."""
    from django.db.models import Q
    from django.db.models.functions import Coalesce

    from campaigns.models import CAPPED_STATUSES, Message, MessageStatus
    from campaigns.rules import frequency_cap
    from orders.models import OrderLine, OrderStatus

    cap = frequency_cap()
    # As campaigns.rules.under_cap counts: sent in the window (by when it was sent), or on its
    # way whatever its age.
    on_its_way = [status for status in CAPPED_STATUSES if status != MessageStatus.SENT]
    recent = (
        Message.objects.filter(customer=customer)
        .annotate(sent_or_created=Coalesce("sent_at", "created_at"))
        .filter(
            Q(status__in=on_its_way)
            | Q(status=MessageStatus.SENT, sent_or_created__gt=now - dt.timedelta(days=cap.days))
        )
        .count()
    )
    if recent >= cap.messages:
        return True
    if campaign.promoted_product_id is not None:
        bought = (
            OrderLine.objects.filter(
                order__customer=customer,
                variant__product_id=campaign.promoted_product_id,
                order__placed_at__gte=now - dt.timedelta(days=campaign.suppress_buyers_days),
            )
            .exclude(order__status=OrderStatus.CANCELLED)
            .exists()
        )
        if bought:
            return True
    return Message.objects.filter(customer=customer, campaign=campaign, run=run).exists()


def orm_loop(*, campaign, sample: int, now: dt.datetime) -> LoopResult:
    """Materialise the first `sample` members of the campaign's segment one by one, rolled back."""
    from django.db import transaction

    from campaigns.models import Message, MessageStatus
    from campaigns.rules import next_allowed
    from campaigns.selectors import segment_members
    from campaigns.services.delivery import run_key
    from customers.models import ConsentState

    run = run_key(campaign=campaign, now=now)
    variant = campaign.variants.get()  # the benchmark's campaign has one variant, at 100 %
    created: set[tuple[int, str]] = set()
    started = time.perf_counter()
    try:
        with transaction.atomic():
            members = list(
                segment_members(segment=campaign.segment, now=now).order_by("pk")[:sample]
            )
            for customer in members:
                consents = set(
                    ConsentState.objects.filter(customer=customer, granted=True).values_list(
                        "channel", flat=True
                    )
                )
                channels = _channels(
                    customer, campaign, _usable_channels(customer, campaign, consents)
                )
                if not channels or _blocked(customer, campaign, run=run, now=now):
                    continue
                for channel in channels:
                    Message.objects.create(
                        campaign=campaign,
                        variant=variant,
                        customer=customer,
                        run=run,
                        channel=channel,
                        idempotency_key=f"c{campaign.pk}-{run}-v{variant.pk}-u{customer.pk}-{channel}",
                        status=MessageStatus.PENDING,
                        not_before=next_allowed(now, country=customer.country, channel=channel),
                        created_at=now,
                    )
                    created.add((customer.pk, channel))
            seconds = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        pass
    return LoopResult(seconds=seconds, examined=len(members), created=frozenset(created))
