"""Results: what campaigns did, in SQL aggregates only (a fixed number of queries per page).

- `campaign_results`: per variant and in total, sent, delivered, opened, clicked, converted
  (orders attributed last-touch), revenue and unsubscribed, with their rates.
- `campaigns_overview`: the same figures for the latest campaigns, one row each.
- `holdout_lift`: the purchase rate of receivers against the holdout's, in the lift window.

Campaigns compared by their number of channels (the channel mix) are in campaigns/channel_mix.py.

Definitions: delivered = sent without a hard bounce; opened includes clicks (a click proves an
open); rates of opened, clicked, converted and unsubscribed are over delivered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)

from campaigns.models import (
    Attribution,
    Campaign,
    CampaignVariant,
    Message,
    MessageStatus,
    TrackingEvent,
    TrackingKind,
)
from orders.models import Order, OrderStatus

ZERO = Decimal("0.00")
OVERVIEW_SIZE = 50


def rate(part: int | Decimal, whole: int | Decimal) -> float:
    """`part` over `whole`; 0.0 when `whole` is zero."""
    return float(part) / float(whole) if whole else 0.0


@dataclass(frozen=True)
class Figures:
    label: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: Decimal = ZERO
    linear_revenue: Decimal = ZERO
    unsubscribed: int = 0
    key: int | None = None

    @property
    def delivery_rate(self) -> float:
        return rate(self.delivered, self.sent)

    @property
    def open_rate(self) -> float:
        return rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float:
        return rate(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float:
        return rate(self.converted, self.delivered)

    @property
    def unsubscribe_rate(self) -> float:
        return rate(self.unsubscribed, self.delivered)

    @property
    def revenue_per_message(self) -> Decimal:
        """Last-touch revenue over messages sent (an A/B winner metric)."""
        return (self.revenue / self.sent).quantize(Decimal("0.01")) if self.sent else ZERO


def _event_exists(*kinds: str) -> Q:
    return Q(Exists(TrackingEvent.objects.filter(message=OuterRef("pk"), kind__in=kinds)))


def _message_counts(messages, key: str) -> dict:
    rows = (
        messages.filter(status=MessageStatus.SENT)
        .order_by()
        .values(key)
        .annotate(
            sent=Count("pk"),
            bounced=Count("pk", filter=_event_exists(TrackingKind.HARD_BOUNCE)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            unsubscribed=Count("pk", filter=_event_exists(TrackingKind.UNSUBSCRIBED)),
        )
    )
    return {row.pop(key): row for row in rows}


def _attribution_sums(attributions, key: str) -> dict:
    last = Q(is_last_touch=True)
    rows = (
        attributions.exclude(order__status=OrderStatus.CANCELLED)
        .order_by()
        .values(key)
        .annotate(
            converted=Count("order", filter=last),
            revenue=Sum("order_total", filter=last),
            linear_revenue=Sum("revenue_share"),
        )
    )
    return {row.pop(key): row for row in rows}


def _figures(label: str, key, counts: dict, sums: dict) -> Figures:
    counted = counts.get(key, {})
    summed = sums.get(key, {})
    sent = counted.get("sent", 0)
    return Figures(
        label=label,
        key=key,
        sent=sent,
        delivered=sent - counted.get("bounced", 0),
        opened=counted.get("opened", 0),
        clicked=counted.get("clicked", 0),
        unsubscribed=counted.get("unsubscribed", 0),
        converted=summed.get("converted", 0),
        # To the cent, as every sum of money shows.
        revenue=(summed.get("revenue") or ZERO).quantize(ZERO),
        linear_revenue=(summed.get("linear_revenue") or ZERO).quantize(ZERO),
    )


def _total(label: str, rows: list[Figures]) -> Figures:
    return Figures(
        label=label,
        sent=sum(row.sent for row in rows),
        delivered=sum(row.delivered for row in rows),
        opened=sum(row.opened for row in rows),
        clicked=sum(row.clicked for row in rows),
        converted=sum(row.converted for row in rows),
        revenue=sum((row.revenue for row in rows), ZERO),
        linear_revenue=sum((row.linear_revenue for row in rows), ZERO),
        unsubscribed=sum(row.unsubscribed for row in rows),
    )


@dataclass(frozen=True)
class CampaignResults:
    variants: list[Figures]
    total: Figures
    winner: Figures | None = None  # the A/B test's winning variant, once chosen


def campaign_results(*, campaign: Campaign) -> CampaignResults:
    """Figures per variant and for the whole campaign (every run), in three queries."""
    counts = _message_counts(Message.objects.filter(campaign=campaign), "variant_id")
    sums = _attribution_sums(Attribution.objects.filter(campaign=campaign), "variant_id")
    variants = [
        _figures(variant.name, variant.pk, counts, sums)
        for variant in CampaignVariant.objects.filter(campaign=campaign).order_by("name")
    ]
    winner = next((row for row in variants if row.key == campaign.winner_variant_id), None)
    return CampaignResults(variants=variants, total=_total(campaign.name, variants), winner=winner)


def campaigns_overview(*, limit: int = OVERVIEW_SIZE) -> list[Figures]:
    """The latest launched campaigns' figures, one row each, in three queries."""
    campaigns = list(
        Campaign.objects.filter(launched_at__isnull=False).order_by("-launched_at", "-pk")[:limit]
    )
    ids = [campaign.pk for campaign in campaigns]
    counts = _message_counts(Message.objects.filter(campaign_id__in=ids), "campaign_id")
    sums = _attribution_sums(Attribution.objects.filter(campaign_id__in=ids), "campaign_id")
    return [_figures(campaign.name, campaign.pk, counts, sums) for campaign in campaigns]


# --- holdout --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lift:
    window_days: int
    receivers: int
    receivers_buyers: int
    holdout: int
    holdout_buyers: int

    @property
    def receivers_rate(self) -> float:
        return rate(self.receivers_buyers, self.receivers)

    @property
    def holdout_rate(self) -> float:
        return rate(self.holdout_buyers, self.holdout)

    @property
    def lift_points(self) -> float:
        """Percentage points of purchase rate that sending added."""
        return (self.receivers_rate - self.holdout_rate) * 100

    @property
    def lift_relative(self) -> float | None:
        """Receivers' rate over the holdout's, minus one; None without holdout buyers."""
        if not self.holdout or not self.holdout_rate:
            return None
        return self.receivers_rate / self.holdout_rate - 1


def holdout_lift(*, campaign: Campaign, window_days: int | None = None) -> Lift:
    """Share of receivers and of held-out customers who placed any order (any channel) within
    the window after their message was created: one query."""
    days = window_days or getattr(settings, "OMNI_CAMPAIGN_LIFT_WINDOW_DAYS", 7)
    bought = Order.objects.filter(
        customer=OuterRef("customer"),
        placed_at__gte=OuterRef("created_at"),
        placed_at__lt=OuterRef("created_at") + dt.timedelta(days=days),
    ).exclude(status=OrderStatus.CANCELLED)
    rows = (
        Message.objects.filter(
            campaign=campaign, status__in=[MessageStatus.SENT, MessageStatus.HELD_OUT]
        )
        .order_by()
        .annotate(
            group=Case(
                When(status=MessageStatus.HELD_OUT, then=Value("holdout")),
                default=Value("receivers"),
                output_field=CharField(),
            )
        )
        .values("group")
        .annotate(
            customers=Count("customer", distinct=True),
            buyers=Count("customer", distinct=True, filter=Q(Exists(bought))),
        )
    )
    found = {row["group"]: row for row in rows}
    receivers = found.get("receivers", {})
    holdout = found.get("holdout", {})
    return Lift(
        window_days=days,
        receivers=receivers.get("customers", 0),
        receivers_buyers=receivers.get("buyers", 0),
        holdout=holdout.get("customers", 0),
        holdout_buyers=holdout.get("buyers", 0),
    )
