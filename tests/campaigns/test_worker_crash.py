"""A real worker SIGKILLed in the middle of a 5,000-message campaign: after a restart every
eligible customer has exactly one message, and the campaign is finished only when all are out.

Slow (two real worker processes on Redis, about a minute on a busy machine): marked `worker`,
part of `make test`.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import uuid
from collections import Counter

import pytest
from django.db.models import Max
from django.utils import timezone

from campaigns import services
from campaigns.models import CampaignAction, CampaignStatus, Message, MessageStatus
from campaigns.selectors import Progress, campaign_progress
from customers.models import ConsentEvent, ConsentState, ContactChannel, Customer
from demo import seed as demo
from omni.celery import app as celery_app
from omni.messaging.sink import sink_clear, sink_counts, sink_delivered
from tests.campaigns.factories import make_campaign
from tests.campaigns.worker_process import (
    celery_worker,
    forget_queue,
    unacknowledged_tasks,
    worker_environment,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ELIGIBLE = 5_000
NOT_CONSENTED = 100
# The sink never answers its 700th delivery: the worker dies with that message handed to the
# provider but not marked sent, in the middle of its fourth batch (services.BATCH_SIZE is 200).
STALL_AT = 700
CLAIMED = (STALL_AT // services.BATCH_SIZE + 1) * services.BATCH_SIZE  # rows claimed by then


def customers_with_email_consent(*, eligible: int, without_consent: int) -> set[int]:
    """Seed customers with COPY; the first `eligible` of them opted in to e-mail (bulk inserts)."""
    demo.seed_customers(count=eligible + without_consent, seed=11, stores=[])
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:eligible])
    events = ConsentEvent.objects.bulk_create(
        ConsentEvent(customer_id=pk, channel=ContactChannel.EMAIL, action="granted", reason="")
        for pk in ids
    )
    now = timezone.now()
    ConsentState.objects.bulk_create(
        ConsentState(
            customer_id=event.customer_id,
            channel=ContactChannel.EMAIL,
            granted=True,
            last_event=event,
            updated_at=now,
        )
        for event in events
    )
    return set(ids)


@pytest.fixture
def queue():
    """The test's own queue, also the one tasks sent from the test process go to."""
    name = f"omni-crash-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous
    forget_queue(name)


@pytest.fixture
def sink():
    """A sink of its own in the broker's Redis database; the worker reads it from environment."""
    url = celery_app.conf.broker_url
    if not url.startswith("redis://"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://...: run them with `make test`")
    name = f"crash-{uuid.uuid4().hex[:8]}"
    yield {"url": url, "name": name}
    sink_clear(url=url, name=name)


def test_a_worker_killed_mid_campaign_leaves_every_customer_exactly_one_message(queue, sink):
    eligible = customers_with_email_consent(eligible=ELIGIBLE, without_consent=NOT_CONSENTED)
    campaign = make_campaign()
    sink_environment = {
        "OMNI_EMAIL_BACKEND": "omni.messaging.sink.SinkBackend",
        "OMNI_MESSAGING_SINK_URL": sink["url"],
        "OMNI_MESSAGING_SINK_NAME": sink["name"],
    }

    # Given a worker sending the campaign, killed (SIGKILL) inside its fourth batch, right after
    # the provider accepted a message and before its row was marked sent.
    first_env = worker_environment(
        queue=queue, **sink_environment, OMNI_MESSAGING_SINK_STALL_AFTER=str(STALL_AT)
    )
    with celery_worker(queue=queue, env=first_env) as first:
        launched = services.campaign_launch(campaign=campaign)  # on commit: dispatch
        assert wait_until(lambda: sink_delivered(**sink) >= STALL_AT, timeout=240, every=0.1)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=20) == -signal.SIGKILL

    # Then the campaign is not finished: one message is out with the provider, not recorded.
    campaign.refresh_from_db()
    progress = campaign_progress(campaign=campaign)
    assert launched.messages == ELIGIBLE
    assert campaign.status == CampaignStatus.SENDING
    assert (progress.sent, progress.sending, progress.pending) == (
        STALL_AT - 1,
        CLAIMED - (STALL_AT - 1),
        ELIGIBLE - CLAIMED,
    )
    assert progress.sent + progress.failed + progress.skipped < progress.audience
    assert not progress.finished
    # acks_late: the dead worker's batch task was never acknowledged, the broker still holds it.
    assert unacknowledged_tasks(queue) == ["campaigns.send_batch"]

    # When the claim timeout has passed, the sweep gives the dead worker's claimed rows back,
    # and a new worker starts, for which the dead worker's task is past its visibility timeout.
    # Only the claim half of the sweep runs: the redelivered task is needed to send everything.
    requeued = services.messages_requeue_stale(older_than=dt.timedelta(milliseconds=1))
    assert requeued == CLAIMED - (STALL_AT - 1)
    second_env = worker_environment(queue=queue, **sink_environment, CELERY_VISIBILITY_TIMEOUT="1")
    premature: list[Progress] = []
    with celery_worker(queue=queue, env=second_env):
        assert wait_until(lambda: finished_watching(campaign, premature), timeout=240, every=0.1)
        # Redelivered, run and acknowledged: the batches still queued could not send them all
        # (21 of 200 for 4,301 messages; without the redelivery the campaign never finishes).
        assert wait_until(lambda: unacknowledged_tasks(queue) == [], timeout=30, every=0.1)

    # Then every eligible customer received exactly one message, the others none; the message
    # the dead worker had handed over was offered twice and delivered once (its key).
    messages = Message.objects.filter(campaign=campaign)
    keys = dict(messages.order_by("pk").values_list("idempotency_key", "customer_id"))
    assert set(keys.values()) == eligible
    counts = sink_counts(**sink)
    assert set(counts.deliveries) == set(keys)
    assert Counter(counts.deliveries.values()) == {1: ELIGIBLE}
    assert Counter(counts.attempts.values()) == {1: ELIGIBLE - 1, 2: 1}
    assert [key for key, tries in counts.attempts.items() if tries == 2] == [
        list(keys)[STALL_AT - 1]
    ]
    # And the campaign finished once, after its last message, never while one was still out.
    assert premature == []
    campaign.refresh_from_db()
    progress = campaign_progress(campaign=campaign)
    assert (progress.audience, progress.sent, progress.failed, progress.skipped) == (
        ELIGIBLE,
        ELIGIBLE,
        0,
        0,
    )
    assert progress.sent + progress.failed + progress.skipped == progress.audience
    assert campaign.status == CampaignStatus.SENT
    assert campaign.finished_at >= messages.aggregate(last=Max("sent_at"))["last"]
    assert campaign.events.filter(action=CampaignAction.FINISHED).count() == 1
    assert not messages.exclude(status=MessageStatus.SENT).exists()


def finished_watching(campaign, premature: list[Progress]) -> bool:
    """Whether the campaign is finished; note its counts if it is finished before they add up."""
    campaign.refresh_from_db(fields=["status"])
    finished = campaign.status == CampaignStatus.SENT
    progress = campaign_progress(campaign=campaign)  # read after the status: it only grows
    if finished and progress.sent + progress.failed + progress.skipped != progress.audience:
        premature.append(progress)
    return finished
