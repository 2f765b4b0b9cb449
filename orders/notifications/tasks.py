"""Notification tasks (registered through orders.tasks): ids in, one service call each."""

from __future__ import annotations

from celery import shared_task

from orders.services.notifications import (
    MAX_ATTEMPTS,
    NotificationRetry,
    notification_send,
    notification_sweep,
)


@shared_task(
    name="orders.send_notification",
    autoretry_for=(NotificationRetry,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=MAX_ATTEMPTS,
    acks_late=True,
)
def send_notification(notification_id: int) -> None:
    """Send one order notification, once: a second delivery of the task finds it sent."""
    notification_send(notification_id=notification_id)


@shared_task(name="orders.sweep_notifications", acks_late=True)
def sweep_notifications() -> int:
    """Queue again the notifications left pending or stuck sending (beat, every minute)."""
    return notification_sweep()
