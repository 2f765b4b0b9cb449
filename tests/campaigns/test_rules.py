"""The rules of point 3, each on its own, and the French quiet-hours preset."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Message, MessageStatus
from campaigns.rules import easter, french_holidays, next_allowed
from customers.models import ContactChannel
from tests.campaigns.factories import bought, consent, make_campaign
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# A Tuesday at noon in Paris: every channel open.
TUESDAY_NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def messages(campaign) -> list[tuple[int, str]]:
    return sorted(
        Message.objects.filter(campaign=campaign, status=MessageStatus.PENDING).values_list(
            "customer_id", "channel"
        )
    )


def test_easter_and_french_holidays():
    assert [easter(year) for year in (2024, 2025, 2026)] == [
        dt.date(2024, 3, 31),
        dt.date(2025, 4, 20),
        dt.date(2026, 4, 5),
    ]
    holidays = french_holidays(2026)
    assert len(holidays) == 11
    assert {dt.date(2026, 4, 6), dt.date(2026, 5, 14), dt.date(2026, 5, 25)} <= holidays


@pytest.mark.parametrize(
    ("channel", "at", "expected"),
    [
        ("email", paris(2026, 3, 10, 23, 30), paris(2026, 3, 10, 23, 30)),  # no quiet hours
        ("sms", paris(2026, 3, 10, 12, 0), paris(2026, 3, 10, 12, 0)),
        ("sms", paris(2026, 3, 10, 20, 0), paris(2026, 3, 11, 8, 0)),  # evening: next morning
        ("sms", paris(2026, 3, 10, 6, 30), paris(2026, 3, 10, 8, 0)),
        ("sms", paris(2026, 3, 14, 21, 0), paris(2026, 3, 16, 8, 0)),  # Saturday night: Monday
        ("sms", paris(2026, 3, 15, 11, 0), paris(2026, 3, 16, 8, 0)),  # Sunday
        ("sms", paris(2026, 4, 4, 20, 30), paris(2026, 4, 7, 8, 0)),  # Easter Sunday and Monday
        ("sms", paris(2026, 7, 14, 10, 0), paris(2026, 7, 15, 8, 0)),  # Bastille Day
        ("push", paris(2026, 3, 15, 11, 0), paris(2026, 3, 15, 11, 0)),  # push on Sundays
        ("push", paris(2026, 3, 15, 21, 30), paris(2026, 3, 16, 9, 0)),
    ],
)
def test_quiet_hours_in_the_customer_time_zone(channel, at, expected):
    assert next_allowed(at, country="FR", channel=channel) == expected


def test_only_consented_channels_and_live_unsuppressed_customers():
    email_only = CustomerFactory(preferred_channel="sms")
    consent(email_only, "email")
    both = CustomerFactory(preferred_channel="sms")
    consent(both, "email", "sms")
    suppressed = CustomerFactory(suppressed=True)
    consent(suppressed, "email")
    erased = CustomerFactory()
    consent(erased, "email")
    erased.erased_at = timezone.now()
    erased.save(update_fields=["erased_at"])
    withdrawn = CustomerFactory()
    consent(withdrawn, "email")
    consent(withdrawn, "email", granted=False)
    campaign = make_campaign(channels=("email", "sms"))

    services.campaign_launch(campaign=campaign, now=TUESDAY_NOON)

    # Preferred mode: her preferred channel if consented, else the first consented one.
    assert messages(campaign) == [(email_only.pk, "email"), (both.pk, "sms")]


def test_all_channels_mode_sends_on_every_consented_channel():
    both = CustomerFactory()
    consent(both, "email", "sms")
    campaign = make_campaign(channels=("email", "sms"), channel_mode="all")

    services.campaign_launch(campaign=campaign, now=TUESDAY_NOON)

    assert messages(campaign) == [(both.pk, "email"), (both.pk, "sms")]


def test_frequency_cap_counts_messages_of_every_campaign(settings):
    settings.OMNI_CAMPAIGN_FREQUENCY_CAP = (2, 7)
    customer = CustomerFactory()
    consent(customer, "email")
    first, second, third = (make_campaign(name=name) for name in ("One", "Two", "Three"))

    for campaign in (first, second, third):
        services.campaign_launch(campaign=campaign, now=timezone.now())

    assert [len(messages(c)) for c in (first, second, third)] == [1, 1, 0]


def test_sms_in_quiet_hours_waits_rather_than_being_dropped():
    customer = CustomerFactory()
    consent(customer, "sms")
    campaign = make_campaign(channels=("sms",))
    sunday = paris(2026, 3, 15, 11, 0)

    services.campaign_launch(campaign=campaign, now=sunday)

    message = Message.objects.get(campaign=campaign)
    assert (message.status, message.not_before) == (MessageStatus.PENDING, paris(2026, 3, 16, 8))
    result = services.messages_send_batch(campaign_id=campaign.pk, now=sunday)
    assert result.claimed == 0


def test_scenario_3_who_bought_the_lipstick_in_store_is_left_out():
    lipstick = VariantFactory(name="Rouge à lèvres Velours")
    bought_in_store = CustomerFactory()
    consent(bought_in_store, "email")
    bought(customer=bought_in_store, variant=lipstick, days_ago=5, channel="store")
    bought_long_ago = CustomerFactory()
    consent(bought_long_ago, "email")
    bought(customer=bought_long_ago, variant=lipstick, days_ago=90, channel="web")
    other = CustomerFactory()
    consent(other, "email")
    campaign = make_campaign(
        promoted_product=lipstick.product, suppress_buyers_days=30, discount_percent=20
    )

    services.campaign_launch(campaign=campaign, now=timezone.now())

    assert messages(campaign) == sorted([(bought_long_ago.pk, "email"), (other.pk, "email")])


def test_an_unsubscribe_after_materialisation_is_honoured_at_send_time(settings, tmp_path):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "email": "omni.messaging.backends.FileBackend",
    }
    settings.OMNI_MESSAGING_OPTIONS = {"email": {"path": str(tmp_path / "out.jsonl")}}
    customer = CustomerFactory()
    consent(customer, "email")
    campaign = make_campaign()
    services.campaign_launch(campaign=campaign, now=timezone.now())

    consent(customer, ContactChannel.EMAIL, granted=False)
    result = services.messages_send_batch(campaign_id=campaign.pk)

    message = Message.objects.get(campaign=campaign)
    assert (result.skipped, message.status, message.skip_reason) == (1, "skipped", "no_consent")
    assert not (tmp_path / "out.jsonl").exists()
