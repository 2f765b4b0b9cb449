"""Order notifications: one row per key, queued after commit, sent once on her channel."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from customers import services as customer_services
from customers.models import Channel, ContactChannel
from omni.messaging import DeliveryResult, DeliveryStatus
from orders.models import Notification, NotificationKind, NotificationStatus
from orders.notifications.tasks import send_notification
from orders.services import (
    NotificationRetry,
    notification_queue,
    notification_send,
    notification_sweep,
)
from tests.customers.factories import CustomerFactory, DeviceFactory
from tests.orders.order_factories import FulfilmentFactory, OrderFactory

pytestmark = pytest.mark.django_db

FILE_BACKEND = "omni.messaging.backends.FileBackend"


def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        tick.wait(0.05)


@pytest.fixture
def sink(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), FILE_BACKEND)
    settings.OMNI_MESSAGING_OPTIONS = {
        channel: {"path": str(path)} for channel in ("email", "sms", "push")
    }
    return path


def read(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_queue_writes_one_row_and_sends_after_commit(django_capture_on_commit_callbacks):
    order = OrderFactory()

    with mock.patch.object(send_notification, "delay") as delay:
        with django_capture_on_commit_callbacks() as callbacks:
            first = notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED)
            again = notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED)
            assert delay.call_count == 0  # nothing leaves before the commit
        for callback in callbacks:
            callback()

    assert again == first
    assert first.idempotency_key == f"{order.number}:confirmed:"
    assert first.status == NotificationStatus.PENDING
    assert Notification.objects.count() == 1
    assert len(callbacks) == 1
    delay.assert_called_once_with(first.pk)


def test_queue_without_customer_writes_nothing():
    order = OrderFactory(customer=None)

    assert notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED) is None
    assert not Notification.objects.exists()


def test_ready_for_pickup_is_sent_once_on_her_preferred_channel(sink):
    customer = CustomerFactory(preferred_channel=ContactChannel.SMS, language="en")
    fulfilment = FulfilmentFactory(
        order__customer=customer,
        location__name="Omni Rivoli",
        location__postal_code="75001",
        location__city="Paris",
    )
    notification = notification_queue(
        order=fulfilment.order, kind=NotificationKind.READY_FOR_PICKUP, fulfilment=fulfilment
    )

    notification_send(notification_id=notification.pk)
    assert notification_send(notification_id=notification.pk) is None

    [message] = read(sink)
    assert message["channel"] == "sms"
    assert message["to"] == customer.phone
    assert message["key"] == f"{fulfilment.order.number}:ready:{fulfilment.pk}"
    assert "482913" in message["body"]
    assert "Omni Rivoli, 12 rue de Rivoli, 75001 Paris" in message["body"]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert (notification.channel, notification.recipient) == ("sms", customer.phone)


def test_message_is_rendered_in_her_language(sink):
    deadline = datetime(2031, 3, 14, 17, 0, tzinfo=UTC)  # 18:00 in Paris
    french = FulfilmentFactory(order__customer__language="fr", pickup_deadline=deadline)
    english = FulfilmentFactory(order__customer__language="en", pickup_deadline=deadline)
    for fulfilment in (french, english):
        notification = notification_queue(
            order=fulfilment.order, kind=NotificationKind.PICKUP_REMINDER, fulfilment=fulfilment
        )
        notification_send(notification_id=notification.pk)

    french_body, english_body = (message["body"] for message in read(sink))
    assert "14 mars 2031" in french_body
    assert "March 14, 2031" in english_body


def test_shipped_says_carrier_and_tracking(sink):
    fulfilment = FulfilmentFactory(
        kind="delivery", status="shipped", carrier="Colissimo", tracking_number="6A123"
    )
    notification = notification_queue(
        order=fulfilment.order, kind=NotificationKind.SHIPPED, fulfilment=fulfilment
    )

    notification_send(notification_id=notification.pk)

    [message] = read(sink)
    assert "Colissimo" in message["body"]
    assert "6A123" in message["body"]


def test_reminder_says_the_deadline(sink):
    deadline = timezone.now() + timedelta(days=1)
    fulfilment = FulfilmentFactory(pickup_deadline=deadline, order__customer__language="en")
    notification = notification_queue(
        order=fulfilment.order, kind=NotificationKind.PICKUP_REMINDER, fulfilment=fulfilment
    )

    notification_send(notification_id=notification.pk)

    [message] = read(sink)
    assert str(timezone.localtime(deadline).year) in message["body"]
    assert fulfilment.pickup_code in message["body"]


def test_no_reachable_channel_is_skipped(sink):
    order = OrderFactory(customer__email=None, customer__phone=None)
    notification = notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED)

    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    assert read(sink) == []


def test_transient_failure_goes_back_to_pending_then_fails_for_good():
    order = OrderFactory()
    notification = notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED)
    retry = DeliveryResult(DeliveryStatus.RETRY, error="provider down")

    with mock.patch("orders.services.notifications.send_message", return_value=retry):
        with pytest.raises(NotificationRetry):
            notification_send(notification_id=notification.pk)
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 1)
        assert notification.last_error == "provider down"

        Notification.objects.filter(pk=notification.pk).update(attempts=5)
        notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 6)


def test_sweep_requeues_old_pending_and_stuck_sending(django_capture_on_commit_callbacks):
    now = timezone.now()
    fresh = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)
    old = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)
    stuck = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)
    running = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)
    sent = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)
    long_ago = now - timedelta(minutes=10)
    Notification.objects.exclude(pk=fresh.pk).update(created_at=long_ago)
    Notification.objects.filter(pk=stuck.pk).update(status="sending", sent_at=long_ago)
    Notification.objects.filter(pk=running.pk).update(status="sending", sent_at=now)
    Notification.objects.filter(pk=sent.pk).update(status="sent", sent_at=long_ago)

    with (
        mock.patch.object(send_notification, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert notification_sweep(now=now) == 2

    assert sorted(call.args[0] for call in delay.call_args_list) == sorted([old.pk, stuck.pk])
    stuck.refresh_from_db()
    assert stuck.status == NotificationStatus.PENDING


# --- with a real worker ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_sink(tmp_path_factory, request):
    """A real worker whose channel backends all append to one file (it reads them from the
    environment: it is another process)."""
    path = tmp_path_factory.mktemp("outbox") / "outbox.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("OMNI_EMAIL_BACKEND", "OMNI_SMS_BACKEND", "OMNI_PUSH_BACKEND"):
            patch.setenv(variable, FILE_BACKEND)
        patch.setenv("OMNI_MESSAGING_FILE", str(path))
        request.getfixturevalue("celery_worker_process")
    return path


@pytest.mark.django_db(transaction=True)
def test_a_task_delivered_three_times_sends_once(worker_sink):
    notification = notification_queue(
        order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED
    )  # committed: queues the task once
    send_notification.delay(notification.pk)
    send_notification.delay(notification.pk)
    # The solo worker takes tasks in order: once this one is sent, the duplicates were handled.
    marker = notification_queue(order=OrderFactory(), kind=NotificationKind.ORDER_CONFIRMED)

    wait_until(
        lambda: Notification.objects.filter(pk=marker.pk, status=NotificationStatus.SENT).exists()
    )

    keys = [message["key"] for message in read(worker_sink)]
    assert keys == [notification.idempotency_key, marker.idempotency_key]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)


def _prefers_push(*, consented: bool, device: bool):
    customer = CustomerFactory(preferred_channel=ContactChannel.PUSH)
    if consented:
        customer_services.consent_grant(
            customer=customer,
            channel=ContactChannel.PUSH,
            source=customer_services.ConsentSource(channel=Channel.APP),
        )
    tokens = [DeviceFactory(customer=customer).token] if device else []
    return customer, tokens


@pytest.mark.parametrize(
    ("consented", "device", "channel"),
    [(True, True, "push"), (True, False, "email"), (False, True, "email")],
)
def test_push_is_chosen_only_with_the_consent_and_an_active_device(
    sink, consented, device, channel
):
    customer, tokens = _prefers_push(consented=consented, device=device)
    order = OrderFactory(customer=customer)
    notification = notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMED)

    notification_send(notification_id=notification.pk)

    [message] = read(sink)
    notification.refresh_from_db()
    recipient = ",".join(tokens) if channel == "push" else customer.email
    assert (message["channel"], message["to"]) == (channel, recipient)
    assert (notification.channel, notification.recipient) == (channel, recipient)
    assert notification.status == NotificationStatus.SENT
