"""Property test of issue #6 point 3: whatever the customers, consents, caps, purchases, quiet
hours and launch times, no message the real pipeline delivers ever breaks a rule.

Each example builds a little world at a simulated "now", then walks a timeline: campaigns are
launched (some twice, as by a second scheduler), customers unsubscribe, and a sweeper sends due
messages every P minutes, through `campaign_launch` and `messages_send_batch` and a recording
backend. The rules are then checked against what was delivered, with an oracle written here from
the rules' statement (not from campaigns.rules): consent at the moment of sending, the cap over
any window, quiet hours in the customer's local time, French Sundays and holidays for SMS,
recent buyers of the promoted product, one message per customer per campaign (per channel in
"all" mode), and held messages sent once the window opens rather than dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from campaigns import services
from campaigns.exceptions import CampaignNotLaunchable
from campaigns.models import Campaign, Message, MessageStatus
from campaigns.rules import QuietHours, french_holidays
from customers.models import Channel, ContactChannel, Customer
from customers.services.consents import ConsentSource, consent_withdraw
from omni.messaging import BaseBackend, DeliveryResult, DeliveryStatus
from tests.campaigns.factories import SentMessageFactory, bought, consent, make_campaign
from tests.customers.factories import CustomerFactory, DeviceFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

CHANNELS = ("email", "sms", "push")
ZONES = {"FR": "Europe/Paris", "US": "America/New_York", "JP": "Asia/Tokyo"}
# The sending windows, (from, to, closed on Sundays and French public holidays), local time.
WINDOWS: dict[tuple[str, str], tuple[dt.time, dt.time, bool] | None] = {
    ("FR", "email"): None,
    ("FR", "sms"): (dt.time(8), dt.time(20), True),
    ("FR", "push"): (dt.time(9), dt.time(21), False),
    ("US", "email"): None,
    ("US", "sms"): (dt.time(9), dt.time(21), False),
    ("US", "push"): (dt.time(10), dt.time(22), False),
    ("JP", "email"): (dt.time(8), dt.time(22), False),
    ("JP", "sms"): (dt.time(9), dt.time(20), False),
    ("JP", "push"): None,
}
QUIET_HOURS = {
    country: {
        channel: None if window is None else QuietHours(*window)
        for (country_, channel), window in WINDOWS.items()
        if country_ == country
    }
    for country in ZONES
}
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# Days around which the rules bite: weekends, Easter, May Day, Ascension, Bastille Day,
# Christmas, and both daylight-saving changes.
START_DAYS = [
    dt.date(2026, 3, 10),
    dt.date(2026, 3, 14),
    dt.date(2026, 3, 15),
    dt.date(2026, 3, 28),
    dt.date(2026, 4, 3),
    dt.date(2026, 4, 30),
    dt.date(2026, 5, 13),
    dt.date(2026, 7, 13),
    dt.date(2026, 10, 24),
    dt.date(2026, 12, 24),
]


class RecordingBackend(BaseBackend):
    """Every channel's backend in this test: remembers what was handed over, and when."""

    sent: list[tuple[str, str, str, dt.datetime]] = []  # reset by each example

    def send(self, message) -> DeliveryResult:
        self.sent.append((message.channel, message.to, message.idempotency_key, timezone.now()))
        return DeliveryResult(DeliveryStatus.SENT, provider_id=message.idempotency_key)


BACKENDS = dict.fromkeys(CHANNELS, f"{__name__}.RecordingBackend")


class Clock:
    """The simulated time: django.utils.timezone.now reads it during an example."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


# --- the world an example draws ----------------------------------------------------------------

consent_states = st.sampled_from(["granted", "granted", "granted", "none", "withdrawn"])
customers_strategy = st.fixed_dictionaries(
    {
        "country": st.sampled_from(["FR", "FR", "US", "JP"]),
        "preferred": st.sampled_from(CHANNELS),
        "consents": st.fixed_dictionaries(dict.fromkeys(CHANNELS, consent_states)),
        "has_phone": st.booleans(),
        # An active app installation: push needs one as well as the consent.
        "has_device": st.booleans(),
        "suppressed": st.sampled_from([False] * 7 + [True]),
        # Earlier marketing messages, sent this many hours before the start.
        "prior_hours": st.lists(st.integers(1, 24 * 9), max_size=3),
        # Purchases of the promoted product, this many days before the start.
        "purchase_days": st.lists(st.sampled_from([0.2, 3.5, 6.9, 7.1, 29.5, 31, 90]), max_size=2),
        # She buys it in store, this many minutes after the start (messages may be waiting).
        "buys_at": st.none() | st.integers(0, 60 * 240),
        # An unsubscribe (channel, minutes after the start), at once honoured.
        "unsubscribe": st.none() | st.tuples(st.sampled_from(CHANNELS), st.integers(0, 60 * 240)),
    }
)
campaigns_strategy = st.fixed_dictionaries(
    {
        "channels": st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True),
        "mode": st.sampled_from(["preferred", "all"]),
        "promoted": st.booleans(),
        "suppress_days": st.sampled_from([7, 30]),
        "launch_minutes": st.integers(0, 60 * 240),
        # A second scheduler launches it again this many minutes later (None: it does not).
        "relaunch_minutes": st.none() | st.sampled_from([0, 1, 30, 60 * 14]),
    }
)
worlds = st.fixed_dictionaries(
    {
        "start_day": st.sampled_from(START_DAYS),
        "start_minute": st.integers(0, 24 * 60 - 1),
        "cap": st.tuples(st.integers(1, 3), st.integers(1, 7)),
        "sweep_minutes": st.sampled_from([1, 47, 300]),
        "customers": st.lists(customers_strategy, min_size=2, max_size=6),
        "campaigns": st.lists(campaigns_strategy, min_size=1, max_size=4),
    }
)


@dataclass
class Built:
    start: dt.datetime
    customers: dict[int, dict] = field(default_factory=dict)  # pk -> drawn spec (+ address)
    campaigns: dict[int, dict] = field(default_factory=dict)  # pk -> drawn spec
    prior: dict[int, list[dt.datetime]] = field(default_factory=dict)
    purchases: dict[int, list[dt.datetime]] = field(default_factory=dict)
    unsubscribed: dict[tuple[int, str], dt.datetime] = field(default_factory=dict)
    product: object = None


def build(world: dict, start: dt.datetime) -> Built:
    built = Built(start=start)
    product = built.product = VariantFactory(name="Rouge à lèvres Velours")
    earlier = make_campaign(name="Earlier", channels=CHANNELS)
    for index, spec in enumerate(world["customers"]):
        customer = CustomerFactory(
            country=spec["country"],
            preferred_channel=spec["preferred"],
            phone=None if not spec["has_phone"] else f"+3370{index:07d}",
            suppressed=spec["suppressed"],
        )
        token = DeviceFactory(customer=customer).token if spec["has_device"] else ""
        for channel, state in spec["consents"].items():
            if state != "none":
                consent(customer, channel)
            if state == "withdrawn":
                consent(customer, channel, granted=False)
        built.customers[customer.pk] = {
            **spec,
            "email": customer.email,
            "phone": customer.phone,
            "token": token,
        }
        built.prior[customer.pk] = [start - dt.timedelta(hours=h) for h in spec["prior_hours"]]
        Message.objects.bulk_create(
            SentMessageFactory.build(campaign=earlier, customer=customer, at=at)
            for at in built.prior[customer.pk]
        )
        built.purchases[customer.pk] = []
        for days in spec["purchase_days"]:
            line = bought(customer=customer, variant=product, days_ago=days)
            built.purchases[customer.pk].append(line.order.placed_at)
    for index, spec in enumerate(world["campaigns"]):
        campaign = make_campaign(
            name=f"Campaign {index}",
            channels=tuple(spec["channels"]),
            channel_mode=spec["mode"],
            promoted_product=product.product if spec["promoted"] else None,
            suppress_buyers_days=spec["suppress_days"],
        )
        built.campaigns[campaign.pk] = spec
    return built


# --- the timeline ------------------------------------------------------------------------------


def timeline(built: Built) -> list[tuple[dt.datetime, int, str, int]]:
    """(when, order at the same instant, what, whom): unsubscribes before launches."""
    events = []
    for pk, spec in built.customers.items():
        if spec["unsubscribe"] is not None:
            channel, minutes = spec["unsubscribe"]
            events.append((built.start + dt.timedelta(minutes=minutes), 0, channel, pk))
        if spec["buys_at"] is not None:
            events.append((built.start + dt.timedelta(minutes=spec["buys_at"]), 0, "buy", pk))
    for pk, spec in built.campaigns.items():
        launch = built.start + dt.timedelta(minutes=spec["launch_minutes"])
        events.append((launch, 1, "launch", pk))
        if spec["relaunch_minutes"] is not None:
            again = launch + dt.timedelta(minutes=spec["relaunch_minutes"])
            events.append((again, 1, "launch", pk))
    return sorted(events)


def next_sweep(built: Built, due: dt.datetime, period: int) -> dt.datetime:
    """The sweeper runs every `period` minutes from the start: the first run at or after `due`."""
    ticks = math.ceil((due - built.start).total_seconds() / (period * 60))
    return built.start + dt.timedelta(minutes=period * max(ticks, 0))


def sweep(now: dt.datetime) -> None:
    """One run of the sweeper: send batches of every campaign with due messages."""
    for _round in range(100):
        due = list(
            Message.objects.filter(status=MessageStatus.PENDING, not_before__lte=now)
            .values_list("campaign_id", flat=True)
            .distinct()
        )
        if not due:
            return
        for campaign_id in due:
            services.messages_send_batch(campaign_id=campaign_id, now=now)
    pytest.fail("the sweeper keeps finding due messages at the same instant")


def run(built: Built, clock: Clock, period: int) -> None:
    events = timeline(built)
    unsubscribe_source = ConsentSource(channel=Channel.WEB, evidence="unsubscribe link")
    for _step in range(2000):
        due = (
            Message.objects.filter(status=MessageStatus.PENDING)
            .order_by("not_before")
            .values_list("not_before", flat=True)
            .first()
        )
        sweep_at = None if due is None else next_sweep(built, max(due, clock.now), period)
        if not events and sweep_at is None:
            return
        if events and (sweep_at is None or events[0][0] <= sweep_at):
            clock.now, _order, what, pk = events.pop(0)
            if what == "launch":
                campaign = Campaign.objects.get(pk=pk)
                with contextlib.suppress(CampaignNotLaunchable):  # a one-off already sent
                    services.campaign_launch(campaign=campaign, now=clock.now)
            elif what == "buy":
                customer = Customer.objects.get(pk=pk)
                line = bought(customer=customer, variant=built.product, days_ago=0, channel="store")
                built.purchases[pk].append(line.order.placed_at)
            else:
                customer = Customer.objects.get(pk=pk)
                consent_withdraw(
                    customer=customer, channel=ContactChannel(what), source=unsubscribe_source
                )
                built.unsubscribed[(pk, what)] = clock.now
            sweep(clock.now)  # the launch's own dispatch, or the next sweep
        else:
            clock.now = sweep_at
            sweep(clock.now)
    pytest.fail("the pending messages never all went: something keeps them waiting")


# --- the oracle --------------------------------------------------------------------------------


def consented(built: Built, pk: int, channel: str, at: dt.datetime) -> bool:
    spec = built.customers[pk]
    unsubscribed = built.unsubscribed.get((pk, channel))
    address = {"email": spec["email"], "sms": spec["phone"], "push": spec["has_device"]}[channel]
    return (
        spec["consents"][channel] == "granted"
        and not spec["suppressed"]
        and bool(address)
        and (unsubscribed is None or unsubscribed > at)
    )


def in_window(country: str, channel: str, at: dt.datetime) -> bool:
    window = WINDOWS[(country, channel)]
    if window is None:
        return True
    opens, closes, closed_days = window
    local = at.astimezone(zoneinfo.ZoneInfo(ZONES[country]))
    if closed_days and (local.weekday() == 6 or local.date() in french_holidays(local.year)):
        return False
    return opens <= local.time() < closes


def check(built: Built, cap: tuple[int, int]) -> None:
    sent = RecordingBackend.sent
    event(f"delivered: {min(len(sent), 5)}{'+' if len(sent) >= 5 else ''}")
    waited = Message.objects.filter(not_before__gt=F("created_at"), status=MessageStatus.SENT)
    event(f"held by quiet hours, then sent: {waited.exists()}")
    keys = [key for _channel, _to, key, _at in sent]
    assert len(keys) == len(set(keys)), "a message was handed over twice"
    rows = {m.idempotency_key: m for m in Message.objects.filter(idempotency_key__in=keys)}
    per_campaign = defaultdict(list)
    deliveries = defaultdict(list)  # customer -> [(when, new?)]
    for pk, times in built.prior.items():
        deliveries[pk] += [(at, False) for at in times]
    for channel, to, key, at in sent:
        message = rows[key]
        pk, spec = message.customer_id, built.customers[message.customer_id]
        context = f"{key} at {at.isoformat()} to {spec}"
        assert consented(built, pk, channel, at), f"no consent: {context}"
        assert to == {"email": spec["email"], "sms": spec["phone"], "push": spec["token"]}[channel]
        assert in_window(spec["country"], channel, at), f"quiet hours: {context}"
        campaign = built.campaigns[message.campaign_id]
        if campaign["promoted"]:
            # Not if she bought it in the N days before the launch, nor since (while it waited).
            since = message.created_at - dt.timedelta(days=campaign["suppress_days"])
            bought_it = [p for p in built.purchases[pk] if since <= p <= at]
            assert not bought_it, f"recent buyer: {context}"
        per_campaign[(message.campaign_id, pk)].append(channel)
        deliveries[pk].append((at, True))
    for (campaign_id, _pk), channels in per_campaign.items():
        if built.campaigns[campaign_id]["mode"] == "preferred":
            assert len(channels) == 1, f"twice for campaign {campaign_id}: {channels}"
        assert len(channels) == len(set(channels)), f"twice on a channel: {channels}"
    messages, days = cap
    for pk, times in deliveries.items():
        times.sort()
        for end, _new in times:
            window = [(at, n) for at, n in times if end - dt.timedelta(days=days) < at <= end]
            if any(n for _at, n in window):
                assert len(window) <= messages, f"cap {cap} broken for {pk}: {window}"
    # Held messages were sent once their window opened: none is left waiting or dropped.
    left = Message.objects.filter(campaign_id__in=built.campaigns).exclude(
        status__in=[MessageStatus.SENT, MessageStatus.HELD_OUT]
    )
    for message in left:
        assert message.status == MessageStatus.SKIPPED, f"{message} left {message.status}"
        if message.skip_reason == "bought":  # she bought the promoted product while it waited
            assert [p for p in built.purchases[message.customer_id] if p >= message.created_at]
        else:
            assert message.skip_reason == "no_consent"
            assert (message.customer_id, message.channel) in built.unsubscribed, f"{message}"


def check_reached(built: Built, cap: tuple[int, int]) -> None:
    """The rules are not vacuous: with room under the cap, a clean customer gets every campaign
    that has a channel she consented to. Room means the cap holds every message she could be
    sent: one per campaign, or one per consented channel for an "all" campaign."""
    reached = set(
        Message.objects.filter(
            campaign_id__in=built.campaigns, status=MessageStatus.SENT
        ).values_list("campaign_id", "customer_id")
    )
    for pk, spec in built.customers.items():
        if (
            spec["prior_hours"]
            or spec["unsubscribe"]
            or spec["purchase_days"]
            or spec["buys_at"] is not None
        ):
            continue
        reachable = {
            campaign_id: [c for c in campaign["channels"] if consented(built, pk, c, built.start)]
            for campaign_id, campaign in built.campaigns.items()
        }
        most = sum(
            len(channels) if built.campaigns[campaign_id]["mode"] == "all" else 1
            for campaign_id, channels in reachable.items()
            if channels
        )
        if most > cap[0]:
            continue
        for campaign_id, channels in reachable.items():
            if channels:
                campaign = built.campaigns[campaign_id]
                assert (campaign_id, pk) in reached, f"{spec} never got campaign {campaign}"


def test_a_message_held_by_quiet_hours_counts_against_the_cap_until_it_goes(settings):
    """Found by the property test: the cap counted messages by creation, so an SMS held over
    Ascension and an e-mail created a day later reached her within the same day."""
    settings.OMNI_CAMPAIGN_FREQUENCY_CAP = (1, 1)
    customer = CustomerFactory(preferred_channel="email")
    consent(customer, "email", "sms")
    sms = make_campaign(name="SMS", channels=("sms",))
    email = make_campaign(name="Email")
    wednesday_night = dt.datetime(2026, 5, 13, 21, 0, tzinfo=PARIS)  # Thursday is Ascension

    services.campaign_launch(campaign=sms, now=wednesday_night)
    held = Message.objects.get(campaign=sms)
    services.campaign_launch(campaign=email, now=wednesday_night + dt.timedelta(hours=25))

    assert held.not_before == dt.datetime(2026, 5, 15, 8, 0, tzinfo=PARIS)
    assert not Message.objects.filter(campaign=email).exists()


def test_she_buys_the_promoted_product_while_her_sms_waits_for_the_morning(settings):
    """Found by the property test: the send-time check looked again at consent and quiet hours
    but not at purchases, so the morning SMS offered the lipstick she bought at night."""
    settings.OMNI_MESSAGING_BACKENDS = BACKENDS
    RecordingBackend.sent = []
    lipstick = VariantFactory(name="Rouge à lèvres Velours")
    customer = CustomerFactory()
    consent(customer, "sms")
    campaign = make_campaign(channels=("sms",), promoted_product=lipstick.product)
    evening = dt.datetime(2026, 3, 10, 21, 0, tzinfo=PARIS)
    services.campaign_launch(campaign=campaign, now=evening)

    bought(customer=customer, variant=lipstick, days_ago=0, channel="store")
    morning = dt.datetime(2026, 3, 11, 8, 0, tzinfo=PARIS)
    with mock.patch("django.utils.timezone.now", Clock(morning)):
        result = services.messages_send_batch(campaign_id=campaign.pk, now=morning)

    message = Message.objects.get(campaign=campaign)
    assert (result.skipped, message.status, message.skip_reason) == (1, "skipped", "bought")
    assert RecordingBackend.sent == []


@settings(  # examples and seed: the profile in tests/conftest.py
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(world=worlds)
def test_no_delivered_message_ever_breaks_a_rule(world):
    start = dt.datetime.combine(world["start_day"], dt.time(), tzinfo=PARIS) + dt.timedelta(
        minutes=world["start_minute"]
    )
    clock = Clock(start.astimezone(dt.UTC))
    RecordingBackend.sent = []
    with (
        override_settings(
            OMNI_CAMPAIGN_FREQUENCY_CAP=world["cap"],
            OMNI_CAMPAIGN_RATE_LIMITS={},
            OMNI_COUNTRY_TIME_ZONES=ZONES,
            OMNI_CAMPAIGN_QUIET_HOURS=QUIET_HOURS,
            OMNI_MESSAGING_BACKENDS=BACKENDS,
            OMNI_MESSAGING_OPTIONS={},
        ),
        mock.patch("django.utils.timezone.now", clock),
    ):
        # Each example starts from the same empty database: its rows go with the savepoint.
        savepoint = transaction.savepoint()
        try:
            built = build(world, clock.now)
            run(built, clock, world["sweep_minutes"])
            check(built, world["cap"])
            check_reached(built, world["cap"])
        finally:
            transaction.savepoint_rollback(savepoint)
