"""Inventory tasks: ids and plain values in, one service call each, safe to run twice."""

from celery import shared_task

from inventory import services


@shared_task(name="inventory.release_expired_reservations")
def release_expired_reservations() -> int:
    """Give back the stock of reservations whose hold has run out (beat runs it every minute)."""
    return services.stock_release_expired()
