"""Two campaigns running at once on overlapping segments never push a customer over the
frequency cap: launches and batches race in real threads on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from campaigns import services
from campaigns.models import Message, MessageStatus
from customers.models import Customer
from tests.campaigns.factories import SentMessageFactory, consent, make_campaign
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

CAP = (2, 7)
OVERLAP, OTHERS = 60, 40


@pytest.fixture
def sink(settings, tmp_path):
    """Every channel appends to one file (FileBackend locks it): count what was handed over."""
    path = tmp_path / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    settings.OMNI_CAMPAIGN_FREQUENCY_CAP = CAP
    settings.OMNI_CAMPAIGN_RATE_LIMITS = {}
    return path


@pytest.fixture(autouse=True)
def _no_broker():
    """The launches' on-commit dispatch would go to a broker no worker reads: threads send."""
    with mock.patch("campaigns.tasks.dispatch_campaign"):
        yield


def in_threads(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def send_all(campaign_id: int) -> int:
    """A worker: send batches of the campaign until none is left to claim."""
    sent = 0
    while True:
        result = services.messages_send_batch(campaign_id=campaign_id, limit=15)
        if not result.claimed:
            return sent
        sent += result.sent


def audience() -> tuple[list[int], list[int]]:
    """Customers in both segments (postal code 75011) and in the first only; each already had
    one marketing message yesterday, so the cap (2 in 7 days) leaves room for exactly one."""
    earlier = make_campaign(name="Earlier")
    overlap = [CustomerFactory(postal_code="75011") for _ in range(OVERLAP)]
    others = [CustomerFactory(postal_code="69001") for _ in range(OTHERS)]
    yesterday = timezone.now() - dt.timedelta(days=1)
    for customer in overlap + others:
        consent(customer, "email")
    Message.objects.bulk_create(
        SentMessageFactory.build(campaign=earlier, customer=customer, at=yesterday)
        for customer in overlap + others
    )
    return [c.pk for c in overlap], [c.pk for c in others]


def two_campaigns():
    everyone = make_campaign(name="Everyone")
    paris = make_campaign(
        name="Paris 11", rules={"field": "postal_code", "op": "eq", "value": "75011"}
    )
    return everyone, paris


def assert_cap_held(sink, overlap: list[int], others: list[int]) -> None:
    messages, days = CAP
    since = timezone.now() - dt.timedelta(days=days)
    sent = Counter(
        Message.objects.filter(status=MessageStatus.SENT, sent_at__gt=since).values_list(
            "customer_id", flat=True
        )
    )
    assert max(sent.values()) <= messages
    # Not vacuous: each of them got exactly one of the new messages, and only once.
    assert {pk: sent[pk] for pk in overlap + others} == dict.fromkeys(overlap + others, messages)
    handed_over = Counter(json.loads(line)["key"] for line in sink.read_text().splitlines())
    assert len(handed_over) == len(overlap) + len(others)
    assert set(handed_over.values()) == {1}
    assert not Message.objects.filter(status__in=[MessageStatus.PENDING, MessageStatus.SENDING])
    assert Customer.objects.count() == len(overlap) + len(others)


def test_two_campaigns_launched_and_sent_at_once_respect_the_cap(sink):
    overlap, others = audience()
    everyone, paris = two_campaigns()

    launched = in_threads(
        lambda: services.campaign_launch(campaign=everyone),
        lambda: services.campaign_launch(campaign=paris),
    )
    in_threads(
        lambda: send_all(everyone.pk),
        lambda: send_all(everyone.pk),
        lambda: send_all(paris.pk),
        lambda: send_all(paris.pk),
    )

    # Whichever launch went first took the overlap: the other only had room for the rest.
    assert sum(result.messages for result in launched) == OVERLAP + OTHERS
    assert_cap_held(sink, overlap, others)


def test_a_launch_racing_another_campaigns_batches_respects_the_cap(sink):
    overlap, others = audience()
    everyone, paris = two_campaigns()
    services.campaign_launch(campaign=everyone)

    in_threads(
        lambda: services.campaign_launch(campaign=paris),
        lambda: send_all(everyone.pk),
        lambda: send_all(everyone.pk),
    )
    send_all(paris.pk)

    assert Message.objects.filter(campaign=paris).count() == 0
    assert_cap_held(sink, overlap, others)
