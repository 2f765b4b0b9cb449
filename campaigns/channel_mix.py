"""Channel mix: campaigns on one channel versus two versus three or more, compared by engagement
rate, purchase rate, average order value, attributed revenue and 90-day retention, for the
marketers' results page.

- `channel_mix`: the three groups' figures, for campaigns launched in the last year by default.

Definitions: a recipient is a (campaign, customer) pair that was sent something, engaged if any
of those messages was opened or clicked; a buyer is a recipient with a last-touch attributed order
that was not cancelled; a retained buyer ordered again within 90 days of that first order.

On PostgreSQL the figures come from one hand-written statement (`_MIX_SQL`); elsewhere (SQLite,
the `make run` demo) from two ORM queries that give the same figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
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

from campaigns.models import Attribution, Campaign, Message, MessageStatus
from campaigns.results import ZERO, rate
from orders.models import Order, OrderStatus

RETENTION_DAYS = 90


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
        return rate(self.engaged, self.recipients)

    @property
    def purchase_rate(self) -> float:
        return rate(self.buyers, self.recipients)

    @property
    def average_order_value(self) -> Decimal:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else ZERO

    @property
    def retention_rate(self) -> float:
        return rate(self.retained, self.buyers)


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
