"""Channel mix: campaigns on one channel versus two versus three or more, compared by engagement
rate, purchase rate, average order value, attributed revenue and 90-day retention, for the
marketers' results page.

- `channel_mix`: the three groups' figures, for campaigns launched in the last year by default.

Definitions: a recipient is a (campaign, customer) pair that was sent something, engaged if any
of those messages was opened or clicked; a buyer is a recipient with a last-touch attributed order
that was not cancelled; a retained buyer ordered again within 90 days of that first order.

The figures come from one hand-written statement (`_MIX_SQL`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
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


def _channel_mix(*, since: dt.datetime) -> dict[int, MixFigures]:
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


def channel_mix(*, since: dt.datetime | None = None) -> list[MixFigures]:
    """Campaigns launched since `since` (a year by default) grouped by their number of
    channels (1, 2, 3+), compared in one query; every group is present, even when empty."""
    since = since or timezone.now() - dt.timedelta(days=365)
    found = _channel_mix(since=since)
    return [
        found.get(channels, MixFigures(channels, 0, 0, 0, 0, 0, ZERO, 0)) for channels in (1, 2, 3)
    ]
