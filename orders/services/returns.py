"""Returns in any store, of an order from any channel: the units go back on the receiving store's
shelf, the refund is recorded (Omni records refunds, the till or the provider makes them) and
the customer is told.

What can be returned, per order line: the units handed over to the customer (collected, shipped,
delivered or sold at the till) minus those already returned. The order lines are locked first,
so two desks taking the same return at once cannot both succeed.

Loyalty points that paid part of the order paid the same share of every line: the money refund
of returned goods is capped at what she paid for them in money, and the points spent on them come
back as points (`loyalty_spend_return`). The points the order earned are taken back pro rata to
the refund (`loyalty_reverse`). Both are keyed by the return, so a replay moves nothing twice, and
come after the stock moved: the loyalty account is always the last lock a service takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from customers.models import Channel
from customers.phone import phone_or_none
from customers.services import loyalty_reverse, loyalty_spend_return
from inventory import services as stock
from inventory.models import Location
from omni.actors import acting_user
from orders.fulfilment.exceptions import InvalidReturn, ReasonRequired, RefundTooHigh, ReturnTooMany
from orders.fulfilment.machine import HANDED_OVER
from orders.models import FulfilmentLine, NotificationKind, Order, OrderLine, Return, ReturnLine
from orders.services.notifications import notification_queue

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReturnableLine:
    """An order line with the units handed over to the customer and those returned since."""

    line: OrderLine
    handed_over: int
    returned: int

    @property
    def returnable(self) -> int:
        """Units that may still come back."""
        return max(self.handed_over - self.returned, 0)

    @property
    def unit_paid(self) -> Decimal:
        """What one unit cost her, after a discount code (to the cent)."""
        return (self.line.line_total / self.line.quantity).quantize(CENT, ROUND_HALF_UP)


def _with_counts(lines: QuerySet[OrderLine]) -> QuerySet[OrderLine]:
    # Two subqueries rather than joins: each sum counts its own rows once.
    handed = (
        FulfilmentLine.objects.filter(
            order_line=OuterRef("pk"), fulfilment__status__in=list(HANDED_OVER)
        )
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    returned = (
        ReturnLine.objects.filter(order_line=OuterRef("pk"))
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return lines.annotate(
        handed_over_units=Coalesce(Subquery(handed), 0),
        returned_units=Coalesce(Subquery(returned), 0),
    )


def returnable_lines(*, order: Order) -> list[ReturnableLine]:
    """The order's lines with the units handed over and already returned (one query)."""
    return [
        ReturnableLine(
            line=line,
            handed_over=line.handed_over_units,  # type: ignore[attr-defined]  # annotated
            returned=line.returned_units,  # type: ignore[attr-defined]  # annotated
        )
        for line in _with_counts(OrderLine.objects.filter(order=order).order_by("pk"))
    ]


def _wanted(lines: Sequence[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for line_id, quantity in lines:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise InvalidReturn
        wanted[line_id] = wanted.get(line_id, 0) + quantity
    if not wanted:
        raise InvalidReturn
    return dict(sorted(wanted.items()))


def return_create(
    *,
    order: Order,
    location: Location,
    lines: Sequence[tuple[int, int]],
    reason: str,
    refund_amount: Decimal,
    performed_by: User | None = None,
    refund_reference: str = "",
) -> Return:
    """Take back units of an order at `location`: put them into stock there, record the refund.

    `lines` are (order line id, quantity) pairs. Takes back the loyalty points the refunded
    share earned. Queues the "refunded" notification.

    Raises:
        InvalidReturn: no line, a quantity that is not a whole number above zero, or a line of
            another order.
        ReasonRequired: the reason is blank.
        ReturnTooMany: more units than handed over minus already returned (per line).
        RefundTooHigh: a negative refund, or more than was paid for the returned units.
    """
    wanted = _wanted(lines)
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_("A return needs a reason."))
    refund_amount = Decimal(refund_amount)
    with transaction.atomic():
        locked = list(
            OrderLine.objects.filter(order=order, pk__in=list(wanted))
            .select_for_update()
            .order_by("pk")
        )
        if len(locked) != len(wanted):
            raise InvalidReturn(_("A chosen line is not part of this order."))
        counted = {item.line.pk: item for item in returnable_lines(order=order)}
        too_many = [pk for pk, qty in wanted.items() if qty > counted[pk].returnable]
        if too_many:
            raise ReturnTooMany(
                order_line_ids=too_many,
                returnable={pk: counted[pk].returnable for pk in too_many},
            )
        goods = sum(
            (_paid_for_next(counted[pk], qty) for pk, qty in wanted.items()), start=Decimal(0)
        )
        paid = _paid_in_money(order, goods)
        if refund_amount < 0 or refund_amount > paid:
            raise RefundTooHigh(maximum=str(paid))
        return_request = Return.objects.create(
            order=order,
            location=location,
            reason=reason[:200],
            refund_amount=refund_amount,
            currency=order.currency,
            refund_reference=refund_reference[:100],
            created_by=acting_user(performed_by),
        )
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(return_request=return_request, order_line_id=pk, quantity=qty)
                for pk, qty in wanted.items()
            ]
        )
        stock.stock_return(
            location=location,
            lines=[stock.StockLine(counted[pk].line.variant_id, qty) for pk, qty in wanted.items()],
            reference=f"{order.number}-RET{return_request.pk}",
            performed_by=performed_by,
            reason=reason[:200],
        )
        _reverse_points(order, return_request, location, performed_by, goods=goods)
        notification_queue(
            order=order, kind=NotificationKind.REFUNDED, return_request=return_request
        )
    return return_request


def _paid_in_money(order: Order, goods: Decimal) -> Decimal:
    """What she paid in money for goods worth `goods` (after a discount code): loyalty points
    paid the order's `discount_total` share of its lines, and come back as points, not money.
    Never more than the money the order took, less what earlier returns refunded."""
    if not order.discount_total or not order.subtotal:
        return goods
    share = (goods * (order.subtotal - order.discount_total) / order.subtotal).quantize(
        CENT, ROUND_HALF_UP
    )
    refunded = order.returns.aggregate(total=Sum("refund_amount", default=Decimal(0)))["total"]
    return max(min(share, order.total - refunded), Decimal(0))


def _reverse_points(
    order: Order,
    return_request: Return,
    location: Location,
    staff: User | None,
    *,
    goods: Decimal,
) -> None:
    """Take back the points the refunded share of the order earned, and give back the points
    spent on the returned goods (none of either for a walk-in sale)."""
    customer = order.customer
    if customer is None or order.total <= 0:
        return
    staff = acting_user(staff)
    channel = Channel.STORE if location.is_store else ""
    key = f"{order.number}-R{return_request.pk}"
    loyalty_reverse(
        customer=customer,
        reference=order.number,
        amount_returned=return_request.refund_amount,
        total=order.total,
        return_reference=key,
        channel=channel,
        performed_by=staff,
    )
    if order.discount_total and order.subtotal > 0:
        loyalty_spend_return(
            customer=customer,
            reference=order.number,
            amount_returned=goods,
            total=order.subtotal,
            return_reference=key,
            channel=channel,
            performed_by=staff,
        )


def _paid_for(line: OrderLine, quantity: int) -> Decimal:
    """What the customer paid for `quantity` units of the line (its total, pro rata).

    `line_total` is what was paid for the line after a discount code (orders.checkout.discounts
    takes the code off the lines), so a discounted unit is never refunded at its catalogue price.
    """
    return (line.line_total * quantity / line.quantity).quantize(CENT, ROUND_HALF_UP)


def _paid_for_next(item: ReturnableLine, quantity: int) -> Decimal:
    """What was paid for the next `quantity` units after those already returned: returned one
    by one, a line's refunds add up to its total exactly (no cent gained on the rounding)."""
    line, returned = item.line, item.returned
    return _paid_for(line, returned + quantity) - _paid_for(line, returned)


def orders_matching(*, query: str, store_ids: Sequence[int]) -> QuerySet[Order]:
    """Orders for the returns desk: by number, customer email or phone (any store), or by a
    pickup code of one of `store_ids` (a code is only a credential at its own store)."""
    query = query.strip()
    if not query:
        return Order.objects.none()
    match = (
        Q(number__iexact=query)
        | Q(customer__email__iexact=query)
        | Q(customer__phone=phone_or_none(query) or query)
        | Q(fulfilments__pickup_code=query.upper(), fulfilments__location_id__in=list(store_ids))
    )
    return (
        Order.objects.filter(pk__in=Order.objects.filter(match).values("pk"))
        .select_related("customer")
        .order_by("-placed_at", "-pk")
    )
