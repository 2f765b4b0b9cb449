"""A second beat scheduler started by mistake does not send anything twice: the same schedule
tick launched twice at once (threads), and two real `celery beat` processes on the database
scheduler in front of a real worker."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTasks

from campaigns import services, tasks
from campaigns.models import Campaign, CampaignAction, CampaignStatus, Message, ScheduleKind
from customers.models import Customer
from demo import seed as demo
from tests.campaigns.factories import consent, make_campaign
from tests.conftest import ROOT
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def email_customers(count: int) -> list[int]:
    demo.seed_customers(count=count, seed=11, stores=[])
    customers = list(Customer.objects.order_by("pk"))
    for customer in customers:
        consent(customer, "email")
    return [customer.pk for customer in customers]


def in_threads(*calls: Callable[[], object]) -> None:
    """Run the calls at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def send_all(campaign_id: int) -> None:
    while services.messages_send_batch(campaign_id=campaign_id, limit=25).claimed:
        pass


def deliveries(path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines())


# --- the same tick, twice at once ------------------------------------------------------------


@pytest.fixture
def sink(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(
        ("email", "sms", "push"), "omni.messaging.backends.FileBackend"
    )
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    settings.OMNI_CAMPAIGN_RATE_LIMITS = {}
    settings.OMNI_CAMPAIGN_FREQUENCY_CAP = (10, 7)  # the runs of one campaign, not the cap
    # The launches' on-commit dispatch would go to a broker no worker reads: threads send.
    with mock.patch("campaigns.tasks.dispatch_campaign"):
        yield path


def per_customer_and_run(campaign: Campaign) -> Counter:
    return Counter(Message.objects.filter(campaign=campaign).values_list("customer_id", "run"))


def test_a_one_off_launched_by_two_schedulers_at_once_sends_each_message_once(sink):
    customers = email_customers(80)
    campaign = make_campaign(
        schedule=services.Schedule(
            kind=ScheduleKind.AT, send_at=timezone.now() + dt.timedelta(minutes=1)
        )
    )

    in_threads(
        lambda: tasks.launch_campaign(campaign.pk), lambda: tasks.launch_campaign(campaign.pk)
    )
    in_threads(lambda: send_all(campaign.pk), lambda: send_all(campaign.pk))

    assert per_customer_and_run(campaign) == Counter({(pk, "once"): 1 for pk in customers})
    assert set(deliveries(sink).values()) == {1}
    assert len(deliveries(sink)) == len(customers)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    launches = campaign.events.filter(action=CampaignAction.LAUNCHED)
    assert sorted(event.detail["messages"] for event in launches) == [0, len(customers)]


def test_a_recurring_campaign_ticked_twice_a_day_sends_one_message_per_customer_per_run(sink):
    customers = email_customers(50)
    campaign = make_campaign(
        schedule=services.Schedule(kind=ScheduleKind.RECURRING, recurrence="0 10 * * *")
    )
    monday = dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)

    for day in (monday, monday + dt.timedelta(days=1)):
        in_threads(
            lambda day=day: services.campaign_launch(campaign=campaign, now=day),
            lambda day=day: services.campaign_launch(campaign=campaign, now=day),
        )
        in_threads(lambda: send_all(campaign.pk), lambda: send_all(campaign.pk))
        # The second scheduler's late tick the same day replays the run: nothing new.
        services.campaign_launch(campaign=campaign, now=day + dt.timedelta(hours=5))
        send_all(campaign.pk)
        tasks.sweep_messages()  # the minute's sweep closes the run the replay reopened

    runs = ["2026-03-09", "2026-03-10"]
    assert per_customer_and_run(campaign) == Counter(
        {(pk, run): 1 for pk in customers for run in runs}
    )
    assert len(deliveries(sink)) == 2 * len(customers)
    assert set(deliveries(sink).values()) == {1}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED  # a recurring campaign waits for its next


# --- two real beat processes -----------------------------------------------------------------


def start_beat(queue: str, folder, name: str) -> tuple[subprocess.Popen, object]:
    database = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log = folder / f"{name}.log"
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omni",
            "beat",
            "--loglevel=INFO",
            f"--pidfile={folder / name}.pid",  # two beats: two pid files, nothing stops the second
            f"--logfile={log}",
        ],
        cwd=ROOT,
        env=env,
    )
    return beat, log


def queue_drained_after_the_ticks() -> None:
    """The solo worker takes tasks in order: once a launch queued now has run, the ticks
    queued before it have too."""
    marker = make_campaign(
        name="Marker", rules={"field": "postal_code", "op": "eq", "value": "00000"}
    )
    tasks.launch_campaign.delay(marker.pk)
    assert wait_until(
        lambda: marker.events.filter(action=CampaignAction.LAUNCHED).exists(), timeout=60
    )


def fired(log, campaign: Campaign) -> int:
    text = log.read_text() if log.exists() else ""
    return text.count(f"Sending due task campaign-{campaign.pk} ")


def test_two_real_beat_schedulers_send_a_scheduled_campaign_once(
    worker_outbox, celery_worker_process, tmp_path
):
    customers = email_customers(120)
    beats = [start_beat(celery_worker_process, tmp_path, name) for name in ("beat-1", "beat-2")]
    try:
        assert wait_until(
            lambda: all(log.exists() and "beat: Starting" in log.read_text() for _b, log in beats),
            timeout=30,
        )
        # Scheduled while both run, as a marketer would: they learn of it from the change row
        # bumped after the commit, and the marketer never waits on their locks (see below).
        campaign = make_campaign(
            schedule=services.Schedule(
                kind=ScheduleKind.AT, send_at=timezone.now() + dt.timedelta(seconds=12)
            )
        )

        def sent() -> bool:
            campaign.refresh_from_db()
            return campaign.status == CampaignStatus.SENT

        assert wait_until(sent, timeout=90, every=0.2)
        # Both schedulers tick the due task within milliseconds (the second reads the one-off
        # before the first disables it); give the second one time to be logged if it fires.
        wait_until(lambda: sum(fired(log, campaign) for _b, log in beats) == 2, timeout=15)
        queue_drained_after_the_ticks()
    finally:
        for beat, _log in beats:
            beat.terminate()
            beat.wait(timeout=20)

    counts = deliveries(worker_outbox)
    keys = set(Message.objects.filter(campaign=campaign).values_list("idempotency_key", flat=True))
    assert (set(counts), set(counts.values())) == (keys, {1})
    assert len(keys) == len(customers)
    launches = campaign.events.filter(action=CampaignAction.LAUNCHED)
    ticks = sum(fired(log, campaign) for _beat, log in beats)
    # A second launch while sending replays the run (0 new messages); after the end, it is
    # refused (the one-off is sent): either way, nothing goes twice.
    assert 1 <= len(launches) <= ticks
    assert sorted(e.detail["messages"] for e in launches)[-1] == len(customers)


# --- the scheduler's change row is never held by a marketer's transaction -------------------


@pytest.mark.parametrize(
    "schedule",
    [
        services.Schedule(kind=ScheduleKind.RECURRING, recurrence="0 10 * * 1"),
        "in an hour",
        "cancel",
    ],
)
def test_scheduling_commits_while_a_scheduler_holds_the_change_row_and_bumps_it_after(schedule):
    """A syncing beat holds django-celery-beat's change-tracking row. Scheduling or cancelling a
    campaign meanwhile commits without waiting for it (so the two can never deadlock), then bumps
    the row once it is free, so the schedulers reload."""
    if schedule == "in an hour":
        schedule = services.Schedule(
            kind=ScheduleKind.AT, send_at=timezone.now() + dt.timedelta(hours=1)
        )
    draft = make_campaign(
        schedule=services.Schedule(
            kind=ScheduleKind.AT, send_at=timezone.now() + dt.timedelta(hours=2)
        )
    )
    PeriodicTasks.update_changed()
    before = PeriodicTasks.last_change()
    events_before = draft.events.count()
    expected = CampaignStatus.CANCELLED if schedule == "cancel" else CampaignStatus.SCHEDULED
    held, release = threading.Event(), threading.Event()

    def scheduler() -> None:
        try:
            with transaction.atomic():
                PeriodicTasks.objects.select_for_update().get(ident=1)
                held.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def marketer() -> None:
        try:
            if schedule == "cancel":
                services.campaign_cancel(campaign=draft)
            else:
                services.campaign_schedule(campaign=draft, schedule=schedule)
        finally:
            connection.close()

    def committed() -> bool:
        campaign = Campaign.objects.get(pk=draft.pk)
        return campaign.status == expected and campaign.events.count() > events_before

    with ThreadPoolExecutor(max_workers=2) as pool:
        holding = pool.submit(scheduler)
        try:
            assert held.wait(timeout=30)
            acting = pool.submit(marketer)
            # Seen from this connection while the row is still held: it committed without it.
            assert wait_until(committed, timeout=20), "the marketer waited on the scheduler's lock"
            assert PeriodicTasks.last_change() == before
        finally:
            release.set()
        holding.result(timeout=60)
        acting.result(timeout=60)
    assert PeriodicTasks.last_change() > before
