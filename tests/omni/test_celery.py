"""Celery against a real worker and a real Redis broker."""

import os

import pytest
from django.db import transaction

from omni.celery import app as celery_app
from omni.tasks import ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _processed(queue: str) -> int:
    """How many omni.ping tasks the test's worker has executed."""
    inspector = celery_app.control.inspect(destination=[f"{queue}@{os.uname().nodename}"])
    stats = inspector.stats() or {}
    return sum(worker.get("total", {}).get("omni.ping", 0) for worker in stats.values())


def test_a_task_makes_the_round_trip_through_a_real_worker(celery_worker_process):
    result = ping.delay("bonjour")

    assert result.get(timeout=30) == "bonjour"


def test_a_task_enqueued_in_a_rolled_back_transaction_is_never_sent(celery_worker_process):
    queue = celery_worker_process
    before = _processed(queue)

    def failing_operation():
        with transaction.atomic():
            ping.delay_on_commit("lost")
            raise RuntimeError("the business operation failed")

    with pytest.raises(RuntimeError):
        failing_operation()
    # The worker consumes its queue in order: once the sentinel is back, anything sent before it
    # would have been processed.
    assert ping.delay("sentinel").get(timeout=30) == "sentinel"

    assert _processed(queue) - before == 1


def test_a_task_enqueued_in_a_committed_transaction_is_sent_after_commit(celery_worker_process):
    queue = celery_worker_process
    before = _processed(queue)

    with transaction.atomic():
        ping.delay_on_commit("kept")
    assert ping.delay("sentinel").get(timeout=30) == "sentinel"

    assert _processed(queue) - before == 2
