"""Orders tasks: ids in, one service call, idempotent (delivery is at least once)."""

from __future__ import annotations

from celery import shared_task

# Defined with their service; imported here so that Celery's autodiscovery (<app>.tasks) finds them.
from orders.fulfilment.tasks import expire_overdue_pickups, send_pickup_reminders
from orders.notifications.tasks import send_notification, sweep_notifications
from orders.services import TransientDeliveryError, cart_link_deliver

__all__ = [
    "expire_overdue_pickups",
    "send_cart_link",
    "send_notification",
    "send_pickup_reminders",
    "sweep_notifications",
]


@shared_task(
    name="orders.send_cart_link",
    autoretry_for=(TransientDeliveryError,),
    retry_backoff=True,
    max_retries=6,
)
def send_cart_link(event_id: int) -> None:
    """Send the signed cart link a `send_link` cart event asked for."""
    cart_link_deliver(event_id=event_id)
