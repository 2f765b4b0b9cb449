"""The rules every marketing message obeys, in one place, applied set-based.

At materialisation, `eligible` narrows a campaign's segment for one channel (consent, live and
not suppressed, frequency cap, suppression of recent buyers of the promoted product and of those
this run already reached) and `not_before` gives each message the first time quiet hours allow.
At send time, `send_time_check` looks again (an unsubscribe is honoured at once; a message
delayed into quiet hours waits again).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan

from campaigns.models import CAPPED_STATUSES, Campaign, ChannelMode, Message, MessageStatus
from campaigns.segments import among_groups
from customers.models import ContactChannel, Customer
from customers.selectors import has_active_device, marketing_reachable
from inventory.models import Variant
from orders.models import OrderLine, OrderStatus

DEFAULT_TIME_ZONE = "Europe/Paris"


# --- frequency cap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FrequencyCap:
    messages: int
    days: int


def frequency_cap() -> FrequencyCap:
    messages, days = getattr(settings, "OMNI_CAMPAIGN_FREQUENCY_CAP", (3, 7))
    return FrequencyCap(messages=messages, days=days)


def under_cap(*, now: dt.datetime) -> Q:
    """Customers with fewer marketing messages than the cap in its window (all campaigns).

    The cap is about what reaches her, so a sent message counts by when it was sent, and one
    still on its way counts whatever its age: quiet hours may have held it for days (counted by
    creation, a message held over a long weekend and one created later would land together).
    """
    cap = frequency_cap()
    on_its_way = [status for status in CAPPED_STATUSES if status != MessageStatus.SENT]
    counted = Message.objects.filter(
        Q(status__in=on_its_way)
        # A sent row without sent_at (imported history) counts from its creation.
        | Q(
            GreaterThan(
                Coalesce("sent_at", "created_at"), Value(now - dt.timedelta(days=cap.days))
            ),
            status=MessageStatus.SENT,
        )
    )
    # Set-based: one GROUP BY over the counted messages, anti-joined (not one count per
    # customer); a customer without any counted message is under the cap.
    at_cap = (
        counted.order_by().values("customer").annotate(n=Count("pk")).filter(n__gte=cap.messages)
    )
    return ~among_groups(at_cap)


# --- suppression ------------------------------------------------------------------------------


def recent_buyers_of_promoted(*, campaign: Campaign, now: dt.datetime) -> Q:
    """Customers who bought the promoted product in the campaign's window (any channel)."""
    if campaign.promoted_product_id is None:
        return Q(pk__in=[])
    # The product's variants first (a few ids): the order lines are then found through their
    # variant index rather than by reading every line to join it to its variant.
    variants = list(
        Variant.objects.filter(product_id=campaign.promoted_product_id).values_list("pk", flat=True)
    )
    lines = OrderLine.objects.filter(
        order__customer=OuterRef("pk"),
        variant_id__in=variants,
        order__placed_at__gte=now - dt.timedelta(days=campaign.suppress_buyers_days),
    ).exclude(order__status=OrderStatus.CANCELLED)
    return Q(Exists(lines))


def bought_since(*, campaign: Campaign, customer_ids: list[int], now: dt.datetime) -> set[int]:
    """Of these customers, those who bought the promoted product in the campaign's window: looked
    at again at send time, so a message quiet hours held overnight does not offer her what she
    bought in the meantime."""
    if campaign.promoted_product_id is None or not customer_ids:
        return set()
    buyers = Customer.objects.filter(pk__in=list(customer_ids)).filter(
        recent_buyers_of_promoted(campaign=campaign, now=now)
    )
    return set(buyers.values_list("pk", flat=True))


def already_reached(*, campaign: Campaign, run: str, channel: str | None) -> Q:
    """Customers this run of the campaign already has a message for (on `channel`, or any)."""
    messages = Message.objects.filter(customer=OuterRef("pk"), campaign=campaign, run=run)
    if channel is not None:
        messages = messages.filter(channel=channel)
    return Q(Exists(messages))


# --- channel choice ---------------------------------------------------------------------------


def reachable_on(channel: str) -> Q:
    """Consent granted and an address on `channel`: Q form of customers.selectors' rule."""
    from customers.models import ConsentState

    granted = Q(
        Exists(ConsentState.objects.filter(customer=OuterRef("pk"), channel=channel, granted=True))
    )
    if channel == ContactChannel.EMAIL:
        return granted & Q(email__isnull=False)
    if channel == ContactChannel.SMS:
        return granted & Q(phone__isnull=False)
    if channel == ContactChannel.PUSH:
        return granted & Q(has_active_device())  # a push goes to her app's active devices
    return granted


class ChannelChoice(Protocol):
    """What chosen_channel reads of a campaign (a Campaign, or an automation step's choice)."""

    @property
    def channel_list(self) -> list[str]: ...

    @property
    def channel_mode(self) -> str: ...


def chosen_channel(
    *, campaign: ChannelChoice, channel: str, reachable: Callable[[str], Q] = reachable_on
) -> Q:
    """In "preferred" mode, customers for whom `channel` is the one to use: her preferred
    channel when the campaign offers it and she consented, else the first consented channel in
    the campaign's order. In "all" mode, everyone (consent is checked by `eligible`).

    `reachable(channel)` says who consented and has an address on a channel: `reachable_on`,
    or columns where it was computed beforehand (campaigns.models.AudienceMember)."""
    channels = campaign.channel_list
    if campaign.channel_mode == ChannelMode.ALL:
        return Q()
    prefers_this = Q(preferred_channel=channel)
    prefers_other_usable = Q(pk__in=[])
    for other in channels:
        if other != channel:
            prefers_other_usable |= Q(preferred_channel=other) & reachable(other)
    earlier_usable = Q(pk__in=[])
    for earlier in channels[: channels.index(channel)]:
        earlier_usable |= reachable(earlier)
    return prefers_this | (~prefers_other_usable & ~earlier_usable)


def eligible(
    queryset: QuerySet[Customer], *, campaign: Campaign, channel: str, run: str, now: dt.datetime
) -> QuerySet[Customer]:
    """Narrow `queryset` (the segment) to who may get this campaign's message on `channel`."""
    return shared_rules(queryset, campaign=campaign, now=now).filter(
        channel_rules(campaign=campaign, channel=channel, run=run, now=now)
    )


def shared_rules(
    queryset: QuerySet[Customer], *, campaign: Campaign, now: dt.datetime
) -> QuerySet[Customer]:
    """The rules of `eligible` that are the same on every channel and that no message of the
    launch changes: a live profile, not an erased identity, not a recent buyer of the promoted
    product."""
    return (
        queryset.live()
        .filter(suppressed=False)
        .exclude(recent_buyers_of_promoted(campaign=campaign, now=now))
    )


def channel_rules(
    *,
    campaign: Campaign,
    channel: str,
    run: str,
    now: dt.datetime,
    reachable: Callable[[str], Q] = reachable_on,
) -> Q:
    """The rest of `eligible`: consent and an address on `channel` (with `shared_rules`:
    customers.selectors.marketing_reachable), the channel to use, the frequency cap and no
    message of this run yet (on `channel`, or on any in "preferred" mode). The cap and "already
    reached" read the messages the previous channel's INSERT just wrote."""
    per_customer = campaign.channel_mode == ChannelMode.PREFERRED
    return (
        reachable(channel)
        & chosen_channel(campaign=campaign, channel=channel, reachable=reachable)
        & under_cap(now=now)
        & ~already_reached(campaign=campaign, run=run, channel=None if per_customer else channel)
    )


# --- quiet hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Sending is allowed from `start` to `end` local time; optionally never on Sundays and
    public holidays."""

    start: dt.time
    end: dt.time
    closed_sundays_and_holidays: bool = False


def _hours(start: str, end: str, closed: bool = False) -> QuietHours:
    return QuietHours(dt.time.fromisoformat(start), dt.time.fromisoformat(end), closed)


# Country presets: France forbids marketing SMS outside 8:00-20:00, on Sundays and holidays.
PRESETS: dict[str, dict[str, QuietHours | None]] = {
    "FR": {
        ContactChannel.EMAIL: None,
        ContactChannel.SMS: _hours("08:00", "20:00", closed=True),
        ContactChannel.PUSH: _hours("09:00", "21:00"),
    },
}
DEFAULT_PRESET = "FR"


def easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian calendar, the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    day = (h + l_ - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day)


@functools.cache
def french_holidays(year: int) -> frozenset[dt.date]:
    """The eleven French public holidays of `year` (metropolitan France)."""
    sunday = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [sunday + dt.timedelta(days=days) for days in (1, 39, 50)]  # Monday, Ascension, Whit
    return frozenset([dt.date(year, month, day) for month, day in fixed] + moving)


HOLIDAYS = {"FR": french_holidays}


def time_zone_of(country: str) -> zoneinfo.ZoneInfo:
    zones = getattr(settings, "OMNI_COUNTRY_TIME_ZONES", {})
    return zoneinfo.ZoneInfo(zones.get(country, DEFAULT_TIME_ZONE))


def configured_countries() -> list[str]:
    """Countries whose quiet hours or time zone may differ from the default preset."""
    presets = getattr(settings, "OMNI_CAMPAIGN_QUIET_HOURS", PRESETS)
    return sorted(set(presets) | set(getattr(settings, "OMNI_COUNTRY_TIME_ZONES", {})))


def quiet_hours(*, country: str, channel: str) -> QuietHours | None:
    presets = getattr(settings, "OMNI_CAMPAIGN_QUIET_HOURS", PRESETS)
    return presets.get(country, presets[DEFAULT_PRESET]).get(channel)


def _day_open(day: dt.date, *, country: str, hours: QuietHours) -> bool:
    if not hours.closed_sundays_and_holidays:
        return True
    holidays = HOLIDAYS.get(country, HOLIDAYS[DEFAULT_PRESET])(day.year)
    return day.weekday() != 6 and day not in holidays


def next_allowed(at: dt.datetime, *, country: str, channel: str) -> dt.datetime:
    """The first instant at or after `at` when a marketing message on `channel` may reach a
    customer of `country` (in her time zone)."""
    hours = quiet_hours(country=country, channel=channel)
    if hours is None:
        return at
    zone = time_zone_of(country)
    local = at.astimezone(zone)
    for offset in range(15):  # long weekends and holidays never chain for two weeks
        day = local.date() + dt.timedelta(days=offset)
        if not _day_open(day, country=country, hours=hours):
            continue
        opens = dt.datetime.combine(day, hours.start, tzinfo=zone)
        closes = dt.datetime.combine(day, hours.end, tzinfo=zone)
        if offset == 0 and opens <= local < closes:
            return at
        if local < opens:
            return opens.astimezone(dt.UTC)
    raise ValueError(f"no sending window within two weeks for {country} {channel}")


def not_before(*, channel: str, now: dt.datetime, countries: list[str]) -> Case | Value:
    """Per customer country, when a message created `now` on `channel` may go: an expression."""
    whens = [
        When(country=country, then=Value(next_allowed(now, country=country, channel=channel)))
        for country in countries
        if country != DEFAULT_PRESET
    ]
    default = Value(next_allowed(now, country=DEFAULT_PRESET, channel=channel))
    if not whens:
        return default
    return Case(*whens, default=default, output_field=DateTimeField())


# --- send time --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendDecision:
    send: bool
    skip_reason: str = ""
    wait_until: dt.datetime | None = None


def send_time_check(*, customer: Customer, channel: str, now: dt.datetime) -> SendDecision:
    """Look again just before sending: consent (unsubscribes count at once) and quiet hours."""
    still_reachable = marketing_reachable(Customer.objects.filter(pk=customer.pk), channel=channel)
    if not still_reachable.exists():
        return SendDecision(send=False, skip_reason="no_consent")
    allowed = next_allowed(now, country=customer.country, channel=channel)
    if allowed > now:
        return SendDecision(send=False, wait_until=allowed)
    return SendDecision(send=True)
