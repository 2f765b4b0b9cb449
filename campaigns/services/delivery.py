"""Launching a campaign and sending its messages exactly once.

`campaign_launch` materialises the audience into Message rows (a replay inserts nothing: each
row's idempotency key is unique). `messages_send_batch` claims due rows (PENDING -> SENDING with
a claim token, SKIP LOCKED: two workers never hold the same row), looks at the rules again, and
sends each through omni.messaging, recording the outcome only where its own claim still holds.
A redelivered task claims other rows; rows a dead worker held go back to PENDING through
`messages_requeue_stale`, and the idempotency key passed to the provider drops the one message
that worker may have handed over before dying.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns import personalise, rules
from campaigns.exceptions import CampaignNotLaunchable
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    DiscountCode,
    Message,
    MessageStatus,
    ScheduleKind,
    VariantContent,
)
from campaigns.services.materialise import materialise
from campaigns.templating import render
from campaigns.tracking import track_links
from customers.models import ContactChannel, Customer
from customers.selectors import marketing_reachable, push_tokens
from omni.messaging import DeliveryStatus, push_recipient, send_message
from omni.messaging.html import text_to_html

BATCH_SIZE = 200
MAX_ATTEMPTS = 5
# Materialisations take turns: two campaigns over one audience never both pass the cap.
MATERIALISE_LOCK = 0x0C4A_0001


def materialise_turn() -> None:
    """Wait for this transaction's turn to write messages (launches, A/B winners and automation
    steps take turns, so that none passes a customer's frequency cap because of another)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MATERIALISE_LOCK])


@dataclass(frozen=True)
class LaunchResult:
    """A launched run: the messages written for it and the customers held out."""

    run: str
    messages: int
    held_out: int


@dataclass(frozen=True)
class BatchResult:
    """What one batch of pending messages came to: claimed, then sent, failed, skipped, or
    waiting again (quiet hours, a retry)."""

    claimed: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0


def run_key(*, campaign: Campaign, now: dt.datetime) -> str:
    """One run per campaign, or one per local day for a recurring one (a second beat
    scheduler ticking the same day replays the run: nothing is sent twice)."""
    if campaign.schedule_kind == ScheduleKind.RECURRING:
        return timezone.localdate(now).isoformat()
    return "once"


def campaign_launch(
    *,
    campaign: Campaign,
    performed_by: User | None = None,
    now: dt.datetime | None = None,
) -> LaunchResult:
    """Materialise the audience of this run into messages and queue their sending.

    Raises:
        CampaignNotLaunchable: the campaign is cancelled, or a one-off already sent.
    """
    from campaigns.tasks import dispatch_campaign

    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        recurring = campaign.schedule_kind == ScheduleKind.RECURRING
        if campaign.status == CampaignStatus.CANCELLED or (
            campaign.status == CampaignStatus.SENT and not recurring
        ):
            raise CampaignNotLaunchable()
        run = run_key(campaign=campaign, now=now)
        materialise_turn()
        # A replay after the A/B winner was chosen sends only the winner.
        messages, held_out = materialise(
            campaign=campaign, run=run, now=now, winner=campaign.winner_variant
        )
        campaign.status = CampaignStatus.SENDING
        campaign.current_run = run
        campaign.launched_at = now
        campaign.finished_at = None
        if campaign.awaits_winner and campaign.winner_due_at is None:  # a replay keeps it
            # The sweep (campaigns.sweep_messages) picks the winner once this time has come.
            assert campaign.winner_after is not None  # required with a winner metric
            campaign.winner_due_at = now + dt.timedelta(hours=campaign.winner_after)
        campaign.save(
            update_fields=[
                "status",
                "current_run",
                "launched_at",
                "finished_at",
                "winner_due_at",
                "updated_at",
            ]
        )
        CampaignEvent.objects.create(
            campaign=campaign,
            action=CampaignAction.LAUNCHED,
            performed_by=performed_by,
            detail={"run": run, "messages": messages, "held_out": held_out},
        )
        # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
        dispatch_campaign.delay_on_commit(campaign_id=campaign.pk)  # type: ignore[attr-defined]
    return LaunchResult(run=run, messages=messages, held_out=held_out)


def _claim(*, campaign_id: int, limit: int, now: dt.datetime) -> tuple[uuid.UUID, list[int]]:
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(campaign_id=campaign_id, status=MessageStatus.PENDING, not_before__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Message.objects.filter(pk__in=ids).update(
            status=MessageStatus.SENDING, claim_token=token, claimed_at=now
        )
    return token, ids


def _throttle(channel: str) -> None:
    """Wait for a slot of the channel's per-second rate, counted in the shared cache."""
    limit = settings.OMNI_CAMPAIGN_RATE_LIMITS.get(channel)
    if not limit:
        return
    while True:
        second = int(time.time())
        key = f"campaigns:rate:{channel}:{second}"
        cache.add(key, 0, timeout=5)
        if cache.incr(key) <= limit:
            return
        time.sleep(max(0.0, second + 1 - time.time()))


def _codes(messages: list[Message], now: dt.datetime) -> dict[int, str]:
    with_discount = [m for m in messages if m.campaign.discount_percent]
    DiscountCode.objects.bulk_create(
        [
            DiscountCode(
                code=personalise.discount_code_for(m.pk),
                campaign_id=m.campaign_id,
                message_id=m.pk,
                customer_id=m.customer_id,
                percent=cast(Decimal, m.campaign.discount_percent),  # set: with_discount
                valid_until=now + dt.timedelta(days=m.campaign.discount_valid_days),
            )
            for m in with_discount
        ],
        ignore_conflicts=True,  # a resent message keeps the code made the first time
    )
    return {m.pk: personalise.discount_code_for(m.pk) for m in with_discount}


def _finish(claimed: Q, **fields: Any) -> int:
    return Message.objects.filter(claimed).update(claim_token=None, **fields)


def _address(customer: Customer, channel: str, tokens: dict[int, list[str]]) -> str:
    if channel == "email":
        return customer.email or ""
    if channel == "sms":
        return customer.phone or ""
    return push_recipient(tokens.get(customer.pk, []))  # push: her active devices' tokens


def messages_send_batch(
    *, campaign_id: int, limit: int = BATCH_SIZE, now: dt.datetime | None = None
) -> BatchResult:
    """Claim up to `limit` due messages of a campaign and send them; return what happened."""
    now = now or timezone.now()
    token, ids = _claim(campaign_id=campaign_id, limit=limit, now=now)
    if not ids:
        return BatchResult(claimed=0)
    messages = list(
        Message.objects.filter(pk__in=ids, claim_token=token)
        .select_related("customer__preferred_store", "campaign__promoted_product", "variant")
        .order_by("pk")
    )
    contents: dict[tuple[int | None, str], VariantContent] = {
        (content.variant_id, content.channel): content
        for content in VariantContent.objects.filter(
            variant_id__in={message.variant_id for message in messages}
        )
    }
    reachable = {
        channel: set(
            marketing_reachable(
                Customer.objects.filter(pk__in=[m.customer_id for m in messages]), channel=channel
            ).values_list("pk", flat=True)
        )
        for channel in {message.channel for message in messages}
    }
    pushed = [m.customer_id for m in messages if m.channel == ContactChannel.PUSH]
    tokens = push_tokens(customer_ids=pushed) if pushed else {}
    # She bought the promoted product while her message waited: not offered it again.
    bought = rules.bought_since(
        campaign=messages[0].campaign, customer_ids=[m.customer_id for m in messages], now=now
    )
    codes = _codes(messages, now)
    context = personalise.contexts(messages, codes=codes)
    counts = {"sent": 0, "failed": 0, "skipped": 0, "waiting": 0}
    for message in messages:
        mine = Q(pk=message.pk, claim_token=token)
        if message.customer_id not in reachable[message.channel]:  # unsubscribed since
            _finish(mine, status=MessageStatus.SKIPPED, skip_reason="no_consent")
            counts["skipped"] += 1
            continue
        if message.customer_id in bought:
            _finish(mine, status=MessageStatus.SKIPPED, skip_reason="bought")
            counts["skipped"] += 1
            continue
        allowed = rules.next_allowed(
            timezone.now(), country=message.customer.country, channel=message.channel
        )
        if allowed > timezone.now():  # the queue ran late, into quiet hours: wait again
            _finish(mine, status=MessageStatus.PENDING, not_before=allowed)
            counts["waiting"] += 1
            continue
        content = contents[(message.variant_id, message.channel)]
        values = context[message.pk]
        # Every link in the text becomes a signed click redirect (campaigns/tracking.py).
        body = track_links(render(content.body, values), message_id=message.pk)
        _throttle(message.channel)
        result = send_message(
            channel=message.channel,
            to=_address(message.customer, message.channel, tokens),
            subject=render(content.subject, values),
            body=body,
            # E-mail gets an HTML alternative carrying the open pixel: opens count without a click.
            html_body=text_to_html(body, pixel_url=values["open_pixel_url"])
            if message.channel == ContactChannel.EMAIL
            else "",
            idempotency_key=message.idempotency_key,
            headers={
                "List-Unsubscribe": f"<{values['unsubscribe_url']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058
            },
        )
        if result.status == DeliveryStatus.SENT:
            _finish(
                mine,
                status=MessageStatus.SENT,
                sent_at=timezone.now(),
                provider_id=result.provider_id[:100],
                recipient=_address(message.customer, message.channel, tokens)[:254],
                attempts=message.attempts + 1,
            )
            counts["sent"] += 1
        elif result.status == DeliveryStatus.RETRY and message.attempts + 1 < MAX_ATTEMPTS:
            backoff = dt.timedelta(seconds=30 * 2**message.attempts)
            _finish(
                mine,
                status=MessageStatus.PENDING,
                not_before=timezone.now() + backoff,
                attempts=message.attempts + 1,
                last_error=result.error[:200],
            )
            counts["waiting"] += 1
        else:
            _finish(
                mine,
                status=MessageStatus.FAILED,
                attempts=message.attempts + 1,
                last_error=result.error[:200],
            )
            counts["failed"] += 1
    campaign_finish_if_done(campaign_id=campaign_id)
    return BatchResult(claimed=len(ids), **counts)


def messages_requeue_stale(*, older_than: dt.timedelta | None = None) -> int:
    """Give back messages a worker claimed and never finished (it died): PENDING again."""
    timeout = (
        dt.timedelta(seconds=settings.OMNI_CAMPAIGN_CLAIM_TIMEOUT)
        if older_than is None
        else older_than
    )
    with transaction.atomic():
        return Message.objects.filter(
            status=MessageStatus.SENDING, claimed_at__lt=timezone.now() - timeout
        ).update(status=MessageStatus.PENDING, claim_token=None)


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    """Mark the campaign sent once sent + failed + skipped covers its whole audience."""
    unfinished = Message.objects.filter(
        campaign=OuterRef("pk"),
        status__in=[MessageStatus.PENDING, MessageStatus.SENDING],
    )
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != CampaignStatus.SENDING or campaign.awaits_winner:
            return False
        done = Campaign.objects.filter(pk=campaign_id).filter(~Exists(unfinished)).exists()
        if not done:
            return False
        recurring = campaign.schedule_kind == ScheduleKind.RECURRING
        campaign.status = CampaignStatus.SCHEDULED if recurring else CampaignStatus.SENT
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        CampaignEvent.objects.create(
            campaign=campaign, action=CampaignAction.FINISHED, detail={"run": campaign.current_run}
        )
    return True
