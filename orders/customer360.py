"""What the orders app contributes to the 360° customer view (customers/customer360/).

Key figures (lifetime value, orders, average order value, first and last purchase, RFM segment,
preferred channel, channels used) come from one grouped query over her orders; the live cart
with its channel trail; her latest orders with each fulfilment's status and pickup state, and
actions only at the stores the viewer works at; on the timeline, orders, fulfilment steps,
returns and cart events, in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from customers.customer360.registry import (
    Fact,
    Link,
    Panel,
    Row,
    Section,
    Table,
    TimelineEntry,
    TimelineQuery,
    TimelineSource,
    Viewer,
    register_section,
    register_timeline_source,
)
from customers.customer360.unions import newest_rows, part
from customers.models import Channel, Customer
from inventory.models import StaffProfile
from omni import roles
from orders.models import (
    OPEN_STATUSES,
    CartAction,
    CartEvent,
    CartLine,
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    Order,
    OrderStatus,
    Return,
)
from orders.rfm import RFM_WINDOW_DAYS, rfm_thresholds

ORDERS_SHOWN = 10
TRAIL_SHOWN = 20
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _when(value: datetime | None) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _money(value: Decimal | None) -> str:
    return f"{value or Decimal('0.00'):.2f} €"


# --- Key figures -------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyFigures:
    lifetime_value: Decimal  # total of her orders, cancelled ones excepted
    order_count: int
    average_order_value: Decimal
    first_purchase: datetime | None
    last_purchase: datetime | None
    recency: int  # RFM scores, 1 to 5
    frequency: int
    monetary: int
    segment: str
    preferred_channel: str  # the channel of most of her orders ("" without any)
    channels_used: tuple[str, ...]  # most used first

    @property
    def rfm_score(self) -> int:
        return self.recency + self.frequency + self.monetary


def _thresholds() -> dict[str, tuple]:
    return rfm_thresholds()


def _score(value, thresholds) -> int:
    """5 at the first threshold met, 4 at the second..., 1 when none is."""
    for index, limit in enumerate(thresholds):
        if value >= limit:
            return 5 - index
    return 1


def _segment(*, orders: int, recency: int, frequency: int) -> str:
    if not orders:
        return _("No purchase yet")
    if recency >= 4 and frequency >= 4:
        return _("Champion")
    if recency >= 3 and frequency >= 3:
        return _("Loyal")
    if recency >= 4:
        return _("Recent customer")
    if frequency >= 3:
        return _("At risk")
    if recency >= 3:
        return _("Needs attention")
    return _("Hibernating")


def customer_key_figures(*, customer: Customer, now: datetime | None = None) -> KeyFigures:
    """Her key figures from one query: her orders grouped by channel (a handful of rows)."""
    now = now or timezone.now()
    window = Q(placed_at__gte=now - timedelta(days=RFM_WINDOW_DAYS))
    rows = list(
        Order.objects.filter(customer=customer)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values("channel")
        .annotate(
            count=Count("pk"),
            spent=Sum("total"),
            first=Min("placed_at"),
            last=Max("placed_at"),
            recent_count=Count("pk", filter=window),
            recent_total=Sum("total", filter=window, default=Decimal("0.00")),
        )
    )
    count = sum(row["count"] for row in rows)
    total = sum((row["spent"] for row in rows), Decimal("0.00"))
    last = max((row["last"] for row in rows), default=None)
    thresholds = _thresholds()
    recency = next(
        (
            5 - index
            for index, days in enumerate(thresholds["recency_days"])
            if last is not None and last >= now - timedelta(days=days)
        ),
        1,
    )
    frequency = _score(sum(row["recent_count"] for row in rows), thresholds["frequency_orders"])
    monetary = _score(
        sum((row["recent_total"] for row in rows), Decimal("0.00")),
        [Decimal(str(limit)) for limit in thresholds["monetary_total"]],
    )
    by_use = sorted(rows, key=lambda row: (-row["count"], -row["spent"], row["channel"]))
    return KeyFigures(
        lifetime_value=total,
        order_count=count,
        average_order_value=(total / count).quantize(Decimal("0.01")) if count else Decimal("0"),
        first_purchase=min((row["first"] for row in rows), default=None),
        last_purchase=last,
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        segment=_segment(orders=count, recency=recency, frequency=frequency),
        preferred_channel=by_use[0]["channel"] if by_use else "",
        channels_used=tuple(row["channel"] for row in by_use),
    )


def _channel(value: str) -> str:
    return str(Channel(value).label) if value in Channel.values else value


def figures_panel(customer: Customer, viewer: Viewer) -> Panel:
    figures = customer_key_figures(customer=customer)
    return Panel(
        key="figures",
        title=_("Key figures"),
        facts=(
            Fact(_("Lifetime value"), _money(figures.lifetime_value)),
            Fact(_("Orders"), str(figures.order_count)),
            Fact(_("Average order value"), _money(figures.average_order_value)),
            Fact(_("First purchase"), _when(figures.first_purchase)),
            Fact(_("Last purchase"), _when(figures.last_purchase)),
            Fact(
                _("RFM segment"),
                f"{figures.segment} (R{figures.recency} F{figures.frequency} M{figures.monetary})",
            ),
            Fact(_("Preferred channel"), _channel(figures.preferred_channel) or "—"),
            Fact(
                _("Channels used"),
                ", ".join(_channel(value) for value in figures.channels_used) or "—",
            ),
        ),
        data=figures,
    )


# --- The live cart -----------------------------------------------------------------------------
def cart_panel(customer: Customer, viewer: Viewer) -> Panel:
    """Her open cart's lines and the newest steps of its trail: two queries, cart or not."""
    lines = list(
        CartLine.objects.filter(cart__customer=customer, cart__status__in=OPEN_STATUSES)
        .select_related("cart", "variant__product")
        .order_by("created_at", "pk")
    )
    opened = Q(cart__customer=customer, cart__status__in=OPEN_STATUSES)
    merged = Q(cart__merged_into__customer=customer, cart__merged_into__status__in=OPEN_STATUSES)
    trail = list(
        CartEvent.objects.filter(opened | merged)
        .select_related("variant", "performed_by")
        .order_by("-at", "-pk")[:TRAIL_SHOWN]
    )[::-1]
    facts: tuple[Fact, ...] = ()
    if lines:
        cart = lines[0].cart
        total = sum((line.unit_price_seen * line.quantity for line in lines), Decimal("0.00"))
        facts = (
            Fact(_("Created on"), cart.get_channel_display()),
            Fact(_("Last activity"), _when(cart.last_activity_at)),
            Fact(_("Items"), str(sum(line.quantity for line in lines))),
            Fact(_("Total at the prices she saw"), _money(total)),
        )
    line_rows = tuple(
        Row(
            (
                line.variant.sku,
                line.variant.name,
                str(line.quantity),
                _money(line.unit_price_seen),
                line.get_added_channel_display(),
            )
        )
        for line in lines
    )
    trail_rows = tuple(
        Row(
            (
                _when(event.at),
                event.get_channel_display(),
                event.get_action_display(),
                event.variant.sku if event.variant else "",
                _quantities(event),
                _("customer") if event.by_customer else _by(event),
            )
        )
        for event in trail
    )
    links: tuple[Link, ...] = ()
    if viewer.has_perm(roles.STORE_SCREENS):
        url = reverse("orders:customer-cart", kwargs={"customer_id": customer.pk})
        links = (Link(_("Open her cart with this store's stock"), url),)
    return Panel(
        key="cart",
        title=_("Cart"),
        facts=facts,
        tables=(
            Table(
                _("Lines"),
                (_("SKU"), _("Article"), _("Quantity"), _("Price seen"), _("Added on")),
                line_rows,
                empty=_("No open cart."),
            ),
            Table(
                _("Channel trail"),
                (_("At"), _("Channel"), _("Action"), _("SKU"), _("Quantity"), _("By")),
                trail_rows,
                empty=_("No cart activity."),
            ),
        ),
        links=links,
        data={"lines": lines, "trail": trail},
    )


def _quantities(event: CartEvent) -> str:
    if event.quantity_before is None and event.quantity_after is None:
        return ""
    return f"{event.quantity_before or 0} → {event.quantity_after or 0}"


def _by(event: CartEvent) -> str:
    if event.performed_by is None:
        return "—"
    return event.performed_by.get_full_name() or event.performed_by.get_username()


# --- Orders, fulfilments, returns --------------------------------------------------------------
def _fulfilments_of(orders: QuerySet, viewer: Viewer) -> dict[int, list[Fulfilment]]:
    """The fulfilments of these orders, flagged `actionable` at the viewer's stores: one query,
    run even when she has no order (a prefetch would skip it) so the page's count is constant."""
    fulfilments = (
        Fulfilment.objects.filter(order__in=orders.values("pk"))
        .select_related("location")
        .order_by("pk")
    )
    if viewer.user.is_superuser:
        fulfilments = fulfilments.annotate(actionable=Value(True))
    else:
        works_there = StaffProfile.objects.filter(
            user_id=viewer.user.pk, stores=OuterRef("location")
        )
        fulfilments = fulfilments.annotate(actionable=Exists(works_there))
    by_order: dict[int, list[Fulfilment]] = {}
    for fulfilment in fulfilments:
        by_order.setdefault(fulfilment.order_id, []).append(fulfilment)
    return by_order


def _pickup_state(fulfilment: Fulfilment) -> str:
    if fulfilment.kind != FulfilmentKind.CLICK_AND_COLLECT:
        return ""
    if fulfilment.status == FulfilmentStatus.READY and fulfilment.pickup_deadline:
        return _("ready since %(ready)s, collect before %(deadline)s") % {
            "ready": _when(fulfilment.ready_at),
            "deadline": _when(fulfilment.pickup_deadline),
        }
    if fulfilment.status == FulfilmentStatus.COLLECTED:
        return _("collected %(at)s") % {"at": _when(fulfilment.collected_at)}
    if fulfilment.promised_ready_at:
        return _("promised for %(at)s") % {"at": _when(fulfilment.promised_ready_at)}
    return ""


def _describe(fulfilment: Fulfilment) -> str:
    text = f"{fulfilment.get_kind_display()}, {fulfilment.location}: "
    text += fulfilment.get_status_display()
    state = _pickup_state(fulfilment)
    return f"{text} ({state})" if state else text


def orders_panel(customer: Customer, viewer: Viewer) -> Panel:
    refunded = (
        Return.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(sum=Sum("refund_amount"))
        .values("sum")
    )
    latest = Order.objects.filter(customer=customer).order_by("-placed_at", "-pk")[:ORDERS_SHOWN]
    orders = list(
        latest.annotate(
            refunded=Coalesce(Subquery(refunded, output_field=MONEY), Value(0), output_field=MONEY)
        )
    )
    fulfilments_by_order = _fulfilments_of(latest, viewer)
    can_act = viewer.has_perm(roles.STORE_SCREENS)
    rows = []
    for order in orders:
        fulfilments = fulfilments_by_order.get(order.pk, [])
        links = tuple(
            Link(
                _("Open %(number)s at %(store)s") % {"number": order.number, "store": f.location},
                reverse("orders:order-detail", kwargs={"number": order.number})
                + "?"
                + urlencode({"store": f.location.code}),
            )
            for f in fulfilments
            if can_act and f.actionable and f.location.is_store
        )
        rows.append(
            Row(
                (
                    order.number,
                    _when(order.placed_at),
                    order.get_channel_display(),
                    order.get_status_display(),
                    _money(order.total),
                    _money(order.refunded) if order.refunded else "—",
                    "; ".join(_describe(f) for f in fulfilments) or "—",
                ),
                links=links,
            )
        )
    columns = (
        _("Order"),
        pgettext("order date", "Placed"),
        _("Channel"),
        _("Status"),
        _("Total"),
        _("Refunded"),
        _("Fulfilment and pickup"),
    )
    return Panel(
        key="orders",
        title=_("Orders"),
        tables=(Table(_("Latest orders, every channel"), columns, tuple(rows), _("No order.")),),
        data=orders,
    )


# --- Timeline ------------------------------------------------------------------------------------
ORDER, FULFILMENT, RETURN, CART = "order", "fulfilment", "return", "cart"
FULFILMENT_STEPS = (
    ("ready_at", FulfilmentStatus.READY),
    ("collected_at", FulfilmentStatus.COLLECTED),
    ("shipped_at", FulfilmentStatus.SHIPPED),
    ("delivered_at", FulfilmentStatus.DELIVERED),
)


def _parts(query: TimelineQuery) -> list:
    customer = query.customer
    parts = []
    if query.wants(ORDER):
        parts.append(
            part(
                Order.objects.filter(customer=customer),
                at="placed_at",
                kind=ORDER,
                channel="channel",
                a="number",
                b="total",
                c="status",
            )
        )
    if query.wants(FULFILMENT):
        fulfilments = Fulfilment.objects.filter(order__customer=customer)
        for field, status in FULFILMENT_STEPS:
            parts.append(
                part(
                    fulfilments,
                    at=field,
                    kind=FULFILMENT,
                    channel="order__channel",
                    a="order__number",
                    b=Value(status.value),
                    c="location__name",
                )
            )
    if query.wants(RETURN):
        parts.append(
            part(
                Return.objects.filter(order__customer=customer),
                at="created_at",
                kind=RETURN,
                channel=Value(Channel.STORE.value),
                a="order__number",
                b="refund_amount",
                c="location__name",
            )
        )
    if query.wants(CART):
        parts.append(
            part(
                CartEvent.objects.filter(cart__customer=customer),
                at="at",
                kind=CART,
                channel="channel",
                a="action",
                b="variant__sku",
                c="quantity_after",
            )
        )
    if query.channels:
        parts = [p.filter(tl_channel__in=list(query.channels)) for p in parts]
    return parts


def _entry(row: dict) -> TimelineEntry:
    kind, a, b, c = row["tl_kind"], row["tl_a"], row["tl_b"], row["tl_c"]
    if kind == ORDER:
        title = _("Order %(number)s") % {"number": a}
        detail = f"{b} € · {OrderStatus(c).label if c in OrderStatus.values else c}"
    elif kind == FULFILMENT:
        title = _("Order %(number)s: %(status)s") % {
            "number": a,
            "status": FulfilmentStatus(b).label,
        }
        detail = c
    elif kind == RETURN:
        title = _("Return on order %(number)s") % {"number": a}
        detail = _("%(amount)s € refunded at %(store)s") % {"amount": b, "store": c}
    else:
        title = _("Cart: %(action)s") % {
            "action": CartAction(a).label if a in CartAction.values else a
        }
        detail = " · ".join(filter(None, [b, _("quantity %(n)s") % {"n": c} if c else ""]))
    return TimelineEntry(
        at=row["tl_at"], kind=kind, channel=row["tl_channel"], title=title, detail=detail
    )


def orders_timeline(query: TimelineQuery) -> list[TimelineEntry]:
    return [_entry(row) for row in newest_rows(_parts(query), limit=query.limit)]


def register_customer360() -> None:
    """Add the orders panels and timeline source to the 360° view (from OrdersConfig.ready)."""
    register_section(Section("figures", 30, figures_panel))
    register_section(Section("cart", 40, cart_panel))
    register_section(Section("orders", 50, orders_panel))
    register_timeline_source(
        TimelineSource(
            key="orders",
            kinds=(
                (ORDER, gettext_lazy("Order")),
                (FULFILMENT, gettext_lazy("Fulfilment and pickup")),
                (RETURN, gettext_lazy("Return")),
                (CART, gettext_lazy("Cart")),
            ),
            channels=tuple(Channel.choices),
            fetch=orders_timeline,
        )
    )
