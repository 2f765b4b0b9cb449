"""Attribution: orders from any channel (web, app, the till, click-and-collect) credited to the
messages that touched the customer shortly before.

A message touched an order when she opened or clicked it within the window that its channel and
touch kind allow (settings.OMNI_ATTRIBUTION_WINDOWS, in days) before the order was placed. Every
touching message gets an `Attribution` row with a linear share (1/n, the rounding left on the
last touch so an order's shares add up to exactly 1 and its revenue shares to its total), and
the latest touch is the last-touch one. A message whose discount code paid for the order is a
touch whatever the window, and always the last touch (touch "code"): she typed the code it
carried. The whole computation is one INSERT ... SELECT with window functions; ON CONFLICT DO
NOTHING on (order, message) makes every pass idempotent.

Orders never import campaigns: this module reads orders, from a beat sweep over new orders past
a watermark (`orders_attribute_new`), or for one order (`order_attribute`).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Model
from django.utils import timezone

from campaigns.models import (
    Attribution,
    AttributionWatermark,
    DiscountCode,
    Message,
    TrackingEvent,
)
from orders.models import Order, OrderStatus

DEFAULT_WINDOWS = {"email": {"click": 5, "open": 5}, "sms": {"click": 1}, "push": {"click": 1}}
SWEEP_BATCH = 5_000
# An order is swept once it is this old: a checkout transaction still open when a later order
# committed would otherwise slip under the watermark unseen.
SETTLE = dt.timedelta(seconds=60)
WATERMARK = "orders"


def attribution_windows() -> list[tuple[str, str, int]]:
    """(channel, touch kind, window in seconds) for every configured window."""
    configured = getattr(settings, "OMNI_ATTRIBUTION_WINDOWS", DEFAULT_WINDOWS)
    return [
        (channel, touch, int(days * 86_400))
        for channel, touches in sorted(configured.items())
        for touch, days in sorted(touches.items())
        if days
    ]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_SQL = """
WITH windows (channel, kind, seconds) AS (VALUES {windows}),
hits AS (
    SELECT o.id AS order_id, o.placed_at, o.total, e.message_id, e.at, e.kind, 0 AS redeemed
    FROM {order} o
    JOIN {event} e ON e.customer_id = o.customer_id
    JOIN windows w ON w.channel = e.channel AND w.kind = e.kind
    WHERE {orders_filter}
      AND o.status <> %s
      AND e.at <= o.placed_at
      AND e.at > o.placed_at - w.seconds * INTERVAL '1 second'
    UNION ALL
    -- the message's discount code paid for the order: a touch whatever the window
    SELECT o.id, o.placed_at, o.total, d.message_id, d.redeemed_at, 'code', 1
    FROM {order} o
    JOIN {code} d ON d.redeemed_order_id = o.id
    WHERE {orders_filter}
      AND o.status <> %s
),
touches AS (
    SELECT h.order_id, h.placed_at, h.total, m.id AS message_id, m.campaign_id,
           m.variant_id, m.customer_id, m.channel,
           MAX(h.at) AS touched_at,
           -- the kind of the latest touch ('code' first); 'click' sorts before 'open' on a tie
           (ARRAY_AGG(h.kind ORDER BY h.redeemed DESC, h.at DESC, h.kind))[1] AS touch,
           MAX(h.redeemed) AS redeemed
    FROM hits h
    JOIN {message} m ON m.id = h.message_id
    GROUP BY h.order_id, h.placed_at, h.total, m.id, m.campaign_id, m.variant_id,
             m.customer_id, m.channel
),
ranked AS (
    SELECT t.*,
           COUNT(*) OVER (PARTITION BY order_id) AS touches,
           ROW_NUMBER() OVER (
               PARTITION BY order_id ORDER BY redeemed DESC, touched_at DESC, message_id DESC
           ) AS position
    FROM touches t
)
INSERT INTO {attribution} (
    order_id, message_id, campaign_id, variant_id, customer_id, channel, touch, touched_at,
    order_placed_at, weight, revenue_share, order_total, is_last_touch, created_at
)
SELECT order_id, message_id, campaign_id, variant_id, customer_id, channel, touch, touched_at,
       placed_at,
       CASE WHEN position = 1 THEN 1 - (touches - 1) * ROUND(1.0 / touches, 6)
            ELSE ROUND(1.0 / touches, 6) END,
       CASE WHEN position = 1 THEN total - (touches - 1) * ROUND(total / touches, 2)
            ELSE ROUND(total / touches, 2) END,
       total,
       position = 1,
       %s
FROM ranked
ON CONFLICT (order_id, message_id) DO NOTHING
"""


def _attribute(orders_filter: str, params: list) -> int:
    # No window configured still credits redeemed codes: a window nothing can fall into.
    windows = attribution_windows() or [("", "", 0)]
    sql = _SQL.format(
        windows=", ".join(["(%s, %s, %s)"] * len(windows)),
        order=_table(Order),
        event=_table(TrackingEvent),
        message=_table(Message),
        code=_table(DiscountCode),
        attribution=_table(Attribution),
        orders_filter=orders_filter,
    )
    flat = [value for window in windows for value in window]
    now = timezone.now()
    with connection.cursor() as cursor:
        cancelled = OrderStatus.CANCELLED
        cursor.execute(sql, [*flat, *params, cancelled, *params, cancelled, now])
        return cursor.rowcount


def order_attribute(*, order: Order) -> list[Attribution]:
    """Credit one order to the messages that touched her within their windows; idempotent.

    Returns the order's attribution rows, last touch first (none when no message touched her).
    """
    with transaction.atomic():
        _attribute("o.id = %s", [order.pk])
    return list(Attribution.objects.filter(order=order).order_by("-is_last_touch", "-touched_at"))


def orders_attribute_new(*, batch_size: int = SWEEP_BATCH, now: dt.datetime | None = None) -> int:
    """Attribute the orders placed since the watermark (up to `batch_size`, settled ones only)
    in one INSERT ... SELECT, then move the watermark; returns the rows written.

    Two sweeps at once take turns on the watermark row, and a replay writes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        AttributionWatermark.objects.get_or_create(name=WATERMARK)
        watermark = AttributionWatermark.objects.select_for_update().get(name=WATERMARK)
        upper = _batch_upper(watermark.last_order_id, batch_size, now)
        if upper is None:
            return 0
        written = _attribute("o.id > %s AND o.id <= %s", [watermark.last_order_id, upper])
        watermark.last_order_id = upper
        watermark.save(update_fields=["last_order_id", "updated_at"])
    return written


def _batch_upper(last_order_id: int, batch_size: int, now: dt.datetime) -> int | None:
    """The highest id of the next `batch_size` orders past the watermark, stopping before the
    first one not yet settled (so none is ever passed over while its transaction is open)."""
    newer = Order.objects.filter(pk__gt=last_order_id)
    unsettled = newer.filter(placed_at__gt=now - SETTLE).aggregate(first=Min("pk"))["first"]
    if unsettled is not None:
        newer = newer.filter(pk__lt=unsettled)
    batch_end = list(newer.order_by("pk").values_list("pk", flat=True)[batch_size - 1 : batch_size])
    if batch_end:
        return batch_end[0]
    return newer.aggregate(last=Max("pk"))["last"]
