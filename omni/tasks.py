"""Project-level tasks."""

from celery import shared_task


@shared_task(name="omni.ping", ignore_result=False)
def ping(value: str) -> str:
    """Echo the value back: proves a worker is consuming and results come back."""
    return value
