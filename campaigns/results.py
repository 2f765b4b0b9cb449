"""Results: what campaigns did, in SQL aggregates only (a fixed number of queries per page).

- `campaign_results`: per variant and in total, sent, delivered, opened, clicked, converted
  (orders attributed last-touch), revenue and unsubscribed, with their rates.
- `campaigns_overview`: the same figures for the latest campaigns, one row each.
- `holdout_lift`: the purchase rate of receivers against the holdout's, in the lift window.
- `channel_mix`: campaigns on one channel versus two versus three or more: engagement rate,
  purchase rate, average order value, attributed revenue and 90-day retention.

Definitions: delivered = sent without a hard bounce; opened includes clicks (a click proves an
open); rates of opened, clicked, converted and unsubscribed are over delivered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Least
from django.utils import timezone

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
RETENTION_DAYS = 90
OVERVIEW_SIZE = 50


def _rate(part: int | Decimal, whole: int | Decimal) -> float:
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
        return _rate(self.delivered, self.sent)

    @property
    def open_rate(self) -> float:
        return _rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float:
        return _rate(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float:
        return _rate(self.converted, self.delivered)

    @property
    def unsubscribe_rate(self) -> float:
        return _rate(self.unsubscribed, self.delivered)

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
        revenue=summed.get("revenue") or ZERO,
        linear_revenue=summed.get("linear_revenue") or ZERO,
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
        return _rate(self.receivers_buyers, self.receivers)

    @property
    def holdout_rate(self) -> float:
        return _rate(self.holdout_buyers, self.holdout)

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


# --- channel mix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MixFigures:
    channels: int  # 1, 2, or 3 for "three or more"
    campaigns: int
    recipients: int  # (campaign, customer) pairs that were sent something
    engaged: int
    buyers: int
    orders: int
    revenue: Decimal
    retained: int  # buyers who ordered again within 90 days of their attributed order

    @property
    def label(self) -> str:
        return "3+" if self.channels >= 3 else str(self.channels)

    @property
    def engagement_rate(self) -> float:
        return _rate(self.engaged, self.recipients)

    @property
    def purchase_rate(self) -> float:
        return _rate(self.buyers, self.recipients)

    @property
    def average_order_value(self) -> Decimal:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else ZERO

    @property
    def retention_rate(self) -> float:
        return _rate(self.retained, self.buyers)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_MIX_SQL = """
WITH mix AS (
    SELECT id, LEAST(jsonb_array_length(channels), 3) AS channels
    FROM {campaign} WHERE launched_at >= %(since)s
),
recipients AS (
    SELECT m.campaign_id, m.customer_id,
           BOOL_OR(m.opened_at IS NOT NULL OR m.clicked_at IS NOT NULL) AS engaged
    FROM {message} m JOIN mix ON mix.id = m.campaign_id
    WHERE m.status = %(sent)s
    GROUP BY m.campaign_id, m.customer_id
),
conversions AS (
    SELECT a.campaign_id, a.customer_id, a.order_total, a.order_placed_at
    FROM {attribution} a
    JOIN mix ON mix.id = a.campaign_id
    JOIN {order} o ON o.id = a.order_id
    WHERE a.is_last_touch AND o.status <> %(cancelled)s
),
buyers AS (
    SELECT campaign_id, customer_id, MIN(order_placed_at) AS first_at
    FROM conversions GROUP BY campaign_id, customer_id
),
sales AS (
    SELECT mix.channels, COUNT(*) AS orders, SUM(c.order_total) AS revenue
    FROM conversions c JOIN mix ON mix.id = c.campaign_id
    GROUP BY mix.channels
)
SELECT mix.channels,
       COUNT(DISTINCT r.campaign_id),
       COUNT(*),
       COUNT(*) FILTER (WHERE r.engaged),
       COUNT(b.customer_id),
       COALESCE(MAX(s.orders), 0),
       COALESCE(MAX(s.revenue), 0),
       COUNT(b.customer_id) FILTER (WHERE EXISTS (
           SELECT 1 FROM {order} again
           WHERE again.customer_id = b.customer_id AND again.status <> %(cancelled)s
             AND again.placed_at > b.first_at
             AND again.placed_at <= b.first_at + %(retention)s * INTERVAL '1 day'
       ))
FROM recipients r
JOIN mix ON mix.id = r.campaign_id
LEFT JOIN buyers b ON b.campaign_id = r.campaign_id AND b.customer_id = r.customer_id
LEFT JOIN sales s ON s.channels = mix.channels
GROUP BY mix.channels
ORDER BY mix.channels
"""


def postgresql_path() -> bool:
    """Whether to run the PostgreSQL statement (the fast path) rather than the portable
    queries that SQLite, the `make run` demo's database, also runs; both give the same figures."""
    return connection.vendor == "postgresql"


def _channel_mix_postgresql(*, since: dt.datetime) -> dict[int, MixFigures]:
    sql = _MIX_SQL.format(
        campaign=_table(Campaign),
        message=_table(Message),
        attribution=_table(Attribution),
        order=_table(Order),
    )
    params = {
        "since": since,
        "sent": MessageStatus.SENT.value,
        "cancelled": OrderStatus.CANCELLED.value,
        "retention": RETENTION_DAYS,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: MixFigures(*row) for row in cursor.fetchall()}


class JSONArrayLength(Func):
    """The length of a JSON array column (jsonb on PostgreSQL, JSON text on SQLite)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


def _campaign_mix() -> Least:
    """The row's campaign's channel group: 1, 2, or 3 for three or more."""
    return Least(JSONArrayLength("campaign__channels"), Value(3))


def _channel_mix_portable(*, since: dt.datetime) -> dict[int, MixFigures]:
    """The same figures as _MIX_SQL through the ORM, in two queries: one over the (campaign,
    customer) pairs that were sent something, one over the attributed orders."""
    conversions = Attribution.objects.filter(
        is_last_touch=True, campaign__launched_at__gte=since
    ).exclude(order__status=OrderStatus.CANCELLED)
    first_at = (
        conversions.filter(campaign=OuterRef("campaign_id"), customer=OuterRef("customer_id"))
        .order_by("order_placed_at")
        .values("order_placed_at")[:1]
    )
    again = Order.objects.filter(
        customer=OuterRef("customer_id"),
        placed_at__gt=OuterRef("first_at"),
        placed_at__lte=OuterRef("first_at") + dt.timedelta(days=RETENTION_DAYS),
    ).exclude(status=OrderStatus.CANCELLED)
    opened = Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)
    pairs = (
        Message.objects.filter(status=MessageStatus.SENT, campaign__launched_at__gte=since)
        .order_by()
        .values("campaign_id", "customer_id")
        .annotate(
            channels=_campaign_mix(),
            engaged=Max(Case(When(opened, then=Value(1)), default=Value(0))),
            first_at=Subquery(first_at),
        )
        .annotate(retained=Exists(again))
    )
    groups = (1, 2, 3)
    counts = pairs.aggregate(
        **{
            f"campaigns_{n}": Count("campaign_id", distinct=True, filter=Q(channels=n))
            for n in groups
        },
        **{f"recipients_{n}": Count("campaign_id", filter=Q(channels=n)) for n in groups},
        **{f"engaged_{n}": Count("campaign_id", filter=Q(channels=n, engaged=1)) for n in groups},
        **{f"buyers_{n}": Count("first_at", filter=Q(channels=n)) for n in groups},
        **{
            f"retained_{n}": Count("campaign_id", filter=Q(channels=n, retained=True))
            for n in groups
        },
    )
    sales = conversions.annotate(channels=_campaign_mix()).aggregate(
        **{f"orders_{n}": Count("pk", filter=Q(channels=n)) for n in groups},
        **{f"revenue_{n}": Sum("order_total", filter=Q(channels=n)) for n in groups},
    )
    return {  # a group shows only with recipients, as in _MIX_SQL
        n: MixFigures(
            channels=n,
            campaigns=counts[f"campaigns_{n}"],
            recipients=counts[f"recipients_{n}"],
            engaged=counts[f"engaged_{n}"],
            buyers=counts[f"buyers_{n}"],
            orders=sales[f"orders_{n}"],
            # SQLite adds decimals as floats, and Django rounds columns only, not aggregates.
            revenue=(sales[f"revenue_{n}"] or ZERO).quantize(ZERO),
            retained=counts[f"retained_{n}"],
        )
        for n in groups
        if counts[f"recipients_{n}"]
    }


def channel_mix(*, since: dt.datetime | None = None) -> list[MixFigures]:
    """Campaigns launched since `since` (a year by default) grouped by their number of
    channels (1, 2, 3+), compared in one query on PostgreSQL (two elsewhere); every group is
    present, even when empty."""
    since = since or timezone.now() - dt.timedelta(days=365)
    mix = _channel_mix_postgresql if postgresql_path() else _channel_mix_portable
    found = mix(since=since)
    return [
        found.get(channels, MixFigures(channels, 0, 0, 0, 0, 0, ZERO, 0)) for channels in (1, 2, 3)
    ]
