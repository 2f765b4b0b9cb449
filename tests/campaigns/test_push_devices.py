"""Push campaigns reach only customers with the push consent AND an active device, and are
addressed to those devices' tokens; a token the provider rejects is disabled."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Message, MessageStatus
from customers import services as customer_services
from omni.messaging import DeliveryResult, DeliveryStatus
from omni.messaging.base import BaseBackend, OutgoingMessage
from tests.campaigns.factories import consent, make_campaign
from tests.customers.factories import CustomerFactory, DeviceFactory

pytestmark = pytest.mark.django_db
# A Tuesday at noon in Paris: every channel open.
TUESDAY_NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
CHANNELS = ("email", "sms", "push")


def messages(campaign) -> list[tuple[int, str]]:
    return sorted(Message.objects.filter(campaign=campaign).values_list("customer_id", "channel"))


@pytest.fixture
def outbox(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(
        CHANNELS, "omni.messaging.backends.FileBackend"
    )
    settings.OMNI_MESSAGING_OPTIONS = {channel: {"path": str(path)} for channel in CHANNELS}
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {"FR": dict.fromkeys(CHANNELS)}
    return path


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_push_campaign_reaches_consent_with_an_active_device_only():
    with_device = CustomerFactory()
    consent(with_device, "push")
    DeviceFactory(customer=with_device)
    without_device = CustomerFactory()
    consent(without_device, "push")
    device_without_consent = CustomerFactory()
    DeviceFactory(customer=device_without_consent)
    disabled_device = CustomerFactory()
    consent(disabled_device, "push")
    customer_services.device_disable(token=DeviceFactory(customer=disabled_device).token)
    campaign = make_campaign(channels=("push",))

    services.campaign_launch(campaign=campaign, now=TUESDAY_NOON)

    assert messages(campaign) == [(with_device.pk, "push")]


def test_preferring_push_without_a_device_falls_back_to_her_next_channel():
    no_device = CustomerFactory(preferred_channel="push")
    consent(no_device, "push", "email")
    with_device = CustomerFactory(preferred_channel="push")
    consent(with_device, "push", "email")
    DeviceFactory(customer=with_device)
    campaign = make_campaign(channels=("email", "push"))

    services.campaign_launch(campaign=campaign, now=TUESDAY_NOON)

    assert messages(campaign) == sorted([(no_device.pk, "email"), (with_device.pk, "push")])


def test_a_push_goes_to_her_active_devices_tokens_once(outbox):
    lea = CustomerFactory()
    consent(lea, "push")
    now = timezone.now()
    phone = DeviceFactory(customer=lea, last_seen_at=now)
    tablet = DeviceFactory(customer=lea, last_seen_at=now - dt.timedelta(days=1))
    customer_services.device_unregister(token=DeviceFactory(customer=lea).token)
    campaign = make_campaign(channels=("push",))
    services.campaign_launch(campaign=campaign, now=timezone.now())

    result = services.messages_send_batch(campaign_id=campaign.pk)
    services.messages_send_batch(campaign_id=campaign.pk)  # again: nothing left to send

    [sent] = read(outbox)
    message = Message.objects.get(campaign=campaign)
    assert result.sent == 1
    assert sent["tokens"] == [phone.token, tablet.token]
    assert (sent["key"], message.status) == (message.idempotency_key, MessageStatus.SENT)
    assert message.recipient == f"{phone.token},{tablet.token}"


def test_a_device_unregistered_before_sending_is_not_sent_to(outbox):
    lea = CustomerFactory()
    consent(lea, "push")
    device = DeviceFactory(customer=lea)
    campaign = make_campaign(channels=("push",))
    services.campaign_launch(campaign=campaign, now=timezone.now())

    customer_services.device_unregister(token=device.token)
    result = services.messages_send_batch(campaign_id=campaign.pk)

    message = Message.objects.get(campaign=campaign)
    assert (result.skipped, message.status, message.skip_reason) == (1, "skipped", "no_consent")
    assert read(outbox) == []


class RejectingProvider(BaseBackend):
    """Reports the first token of every push message invalid, delivers to the others."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        rejected = message.tokens[:1]
        if len(rejected) == len(message.tokens):
            return DeliveryResult(DeliveryStatus.FAILED, error="rejected", rejected_tokens=rejected)
        return DeliveryResult(DeliveryStatus.SENT, provider_id="p", rejected_tokens=rejected)


def test_a_token_the_provider_rejects_is_disabled_and_left_out_next_time(outbox, settings):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "push": f"{__name__}.RejectingProvider",
    }
    lea, ines = CustomerFactory(), CustomerFactory()
    consent(lea, "push")
    consent(ines, "push")
    lea_only = DeviceFactory(customer=lea)
    ines_old = DeviceFactory(customer=ines, last_seen_at=timezone.now())
    ines_new = DeviceFactory(customer=ines, last_seen_at=timezone.now() - dt.timedelta(hours=1))
    first = make_campaign(channels=("push",), name="First")
    services.campaign_launch(campaign=first, now=timezone.now())

    result = services.messages_send_batch(campaign_id=first.pk)

    statuses = dict(Message.objects.filter(campaign=first).values_list("customer", "status"))
    assert (result.sent, result.failed) == (1, 1)
    assert statuses == {lea.pk: MessageStatus.FAILED, ines.pk: MessageStatus.SENT}
    for device, active in ((lea_only, False), (ines_old, False), (ines_new, True)):
        device.refresh_from_db()
        assert device.active is active
    assert lea_only.disabled_reason == "provider_rejected"
    second = make_campaign(channels=("push",), name="Second")
    services.campaign_launch(campaign=second, now=timezone.now())
    assert messages(second) == [(ines.pk, "push")]
