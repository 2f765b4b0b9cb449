"""Pickup sweeps run by beat (registered through orders.tasks): one service call each."""

from __future__ import annotations

from celery import shared_task

from orders.services import pickups_expire_overdue, pickups_send_reminders


@shared_task(name="orders.expire_overdue_pickups", acks_late=True)
def expire_overdue_pickups() -> int:
    """Expire ready pickups past their deadline and give their stock back (beat)."""
    return pickups_expire_overdue()


@shared_task(name="orders.send_pickup_reminders", acks_late=True)
def send_pickup_reminders() -> int:
    """Remind customers a day before their pickup expires, once each (beat)."""
    return pickups_send_reminders()
