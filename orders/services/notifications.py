"""Queue, send and sweep order notifications: each one sent at most once per key.

Exactly once, as far as Omni can tell: the row's idempotency key is unique (queueing twice
writes one row); a send first claims the row (`PENDING -> SENDING` under `SKIP LOCKED`, in a
short transaction), so a task delivered twice, or the sweep racing the task, finds nothing to
claim; the provider gets the same key, so a worker dying between the provider's answer and the
`SENT` update is the only window left, and a provider honouring keys closes it.

While a row is `SENDING` (or waiting for a retry), `sent_at` holds when the last attempt
started: the sweep uses it to tell a stuck send from a running one. Once sent, it is the time
the provider took the message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from customers.selectors import MessagePurpose, push_tokens, reachable_channels
from omni.db import Insert, insert_unless_conflict
from omni.messaging import DeliveryStatus, push_recipient, send_message
from orders.models import (
    Fulfilment,
    Notification,
    NotificationKind,
    NotificationStatus,
    Order,
    Return,
)
from orders.notifications.content import render

# A failing provider is retried this many times (with backoff) before the row is FAILED.
MAX_ATTEMPTS = 6
# A pending row older than this whose task never ran is queued again by the sweep.
PENDING_GRACE = timedelta(minutes=1)
# A send that started this long ago and never finished: its worker died.
SENDING_TIMEOUT = timedelta(minutes=5)
# A row waiting for a retry whose task was lost is picked up after this.
RETRY_GRACE = timedelta(minutes=15)
SWEEP_BATCH = 500


class NotificationRetry(Exception):
    """The channel backend asked to retry later: the task retries with backoff."""


# A notification's key is unique: queueing it again writes nothing (no savepoint needed).
NOTIFICATION = Insert(
    Notification,
    """INSERT INTO orders_notification (order_id, fulfilment_id, return_request_id, kind,
        channel, recipient, idempotency_key, status, attempts, last_error, provider_id,
        claimed_at, created_at, sent_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id""",
)


def notification_key(
    *,
    order: Order,
    kind: str,
    fulfilment: Fulfilment | None = None,
    return_request: Return | None = None,
) -> str:
    """The idempotency key of one notification: one per order, kind and fulfilment or return."""
    subject = fulfilment.pk if fulfilment else return_request.pk if return_request else ""
    return f"{order.number}:{kind}:{subject}"


def notification_queue(
    *,
    order: Order,
    kind: NotificationKind,
    fulfilment: Fulfilment | None = None,
    return_request: Return | None = None,
) -> Notification | None:
    """Write the notification row in the caller's transaction and send it after commit.

    Queueing the same notification again returns the existing row and sends nothing new.
    Returns None for an order without a customer (an anonymous till sale): nobody to tell.
    """
    notification = notification_new(
        order=order, kind=kind, fulfilment=fulfilment, return_request=return_request
    )
    if notification is None:
        return None
    # One INSERT ... ON CONFLICT DO NOTHING, not get_or_create: no savepoint pair around it in
    # the caller's transaction, and a concurrent twin still waits for the first to commit.
    return notification_queued(
        notification, written=insert_unless_conflict(NOTIFICATION, notification)
    )


def notification_new(
    *,
    order: Order,
    kind: NotificationKind,
    fulfilment: Fulfilment | None = None,
    return_request: Return | None = None,
) -> Notification | None:
    """The unsaved row of a notification, None for an order without a customer.

    For a caller that writes it in one statement with the rows it reports (omni.db
    `insert_together`, ON CONFLICT DO NOTHING), then hands it to `notification_queued`.
    """
    if order.customer_id is None:
        return None
    key = notification_key(
        order=order, kind=kind, fulfilment=fulfilment, return_request=return_request
    )
    return Notification(
        order=order,
        kind=kind,
        fulfilment=fulfilment,
        return_request=return_request,
        idempotency_key=key,
    )


def notification_queued(notification: Notification, *, written: bool) -> Notification:
    """After the row's INSERT ... ON CONFLICT DO NOTHING: send a new row after commit; when its
    key was already there (`written` False), return that row and send nothing."""
    if not written:
        return Notification.objects.get(idempotency_key=notification.idempotency_key)
    from orders.notifications.tasks import send_notification  # tasks import this module

    # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
    send_notification.delay_on_commit(notification.pk)  # type: ignore[attr-defined]
    return notification


def _claim(notification_id: int) -> Notification | None:
    """Lock a pending row and mark it SENDING; None if it is not pending or someone holds it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order__customer", "fulfilment__location", "return_request")
            .filter(pk=notification_id, status=NotificationStatus.PENDING)
            .first()
        )
        if notification is None:
            return None
        notification.status = NotificationStatus.SENDING
        notification.attempts += 1
        notification.sent_at = timezone.now()
        notification.save(update_fields=["status", "attempts", "sent_at"])
    return notification


def _address(customer: Customer, channel: str) -> str:
    if channel == "push":  # her active devices (reachable_channels checked she has one)
        return push_recipient(push_tokens(customer_ids=[customer.pk]).get(customer.pk, []))
    return {"email": customer.email, "sms": customer.phone}.get(channel) or str(customer.pk)


def _finish(notification: Notification, **fields: Any) -> None:
    """Record the outcome, only if this attempt still owns the row."""
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        **fields
    )
    for name, value in fields.items():
        setattr(notification, name, value)


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one notification if it is still to be sent; return it, or None if there was nothing
    to do (already sent, skipped, failed, or being sent by another worker).

    Raises:
        NotificationRetry: the channel backend asked to retry later; the row is pending again.
    """
    notification = _claim(notification_id)
    if notification is None:
        return None
    customer = notification.order.customer
    channels = (
        reachable_channels(customer=customer, purpose=MessagePurpose.TRANSACTIONAL)
        if customer is not None
        else []
    )
    if customer is None or not channels:
        _finish(notification, status=NotificationStatus.SKIPPED, sent_at=None)
        return notification
    channel = channels[0]  # her preferred channel when she can be reached there
    recipient = _address(customer, channel)
    subject, body = render(notification)
    # Outside any transaction: the backend may talk to the network.
    result = send_message(
        channel=channel,
        to=recipient,
        subject=subject,
        body=body,
        idempotency_key=notification.idempotency_key,
    )
    outcome = {"channel": channel, "recipient": recipient[:254], "last_error": result.error[:200]}
    if result.status == DeliveryStatus.SENT:
        _finish(
            notification,
            status=NotificationStatus.SENT,
            provider_id=result.provider_id[:100],
            sent_at=timezone.now(),
            **outcome,
        )
    elif result.status == DeliveryStatus.RETRY and notification.attempts < MAX_ATTEMPTS:
        _finish(notification, status=NotificationStatus.PENDING, **outcome)
        raise NotificationRetry(result.error)
    else:
        _finish(notification, status=NotificationStatus.FAILED, **outcome)
    return notification


def notification_sweep(*, now: datetime | None = None) -> int:
    """Queue again the notifications a lost message or a dead worker left; return how many.

    A send stuck in SENDING longer than SENDING_TIMEOUT goes back to PENDING first.
    """
    from orders.notifications.tasks import send_notification  # tasks import this module

    now = now or timezone.now()
    with transaction.atomic():
        stuck = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=NotificationStatus.SENDING, sent_at__lt=now - SENDING_TIMEOUT)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        Notification.objects.filter(pk__in=stuck).update(status=NotificationStatus.PENDING)
        pending = list(
            Notification.objects.filter(
                Q(sent_at__isnull=True) | Q(sent_at__lt=now - RETRY_GRACE),
                status=NotificationStatus.PENDING,
                created_at__lt=now - PENDING_GRACE,
            )
            .exclude(pk__in=stuck)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        to_send = stuck + pending
        for notification_id in to_send:
            # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
            send_notification.delay_on_commit(notification_id)  # type: ignore[attr-defined]
    return len(to_send)
