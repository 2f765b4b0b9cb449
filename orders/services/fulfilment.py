"""Every fulfilment status change goes through `fulfilment_transition`; the named operations
(`pickup_mark_ready`, `pickup_collect`, `shipment_ship`, `order_cancel`...) are thin layers on it.

`fulfilment_transition` locks the fulfilment, then its order (always in that order; a sweep
skips rows another transaction holds), refuses a change the table in `machine` does not allow,
records a `FulfilmentTransition` (who, when, why), moves the stock through `inventory.services`
(a sale when the goods leave, a release when they never will), queues the customer's
notification and brings the order's status up to date, all in one transaction.

An order that ends cancelled (`order_cancel`, its last fulfilment cancelled, or its last pickup
expiring) is undone for the customer as if it never happened (`_order_cancelled`): the discount
code it used is free again, the loyalty points it earned are taken back and those spent on it
returned (`order_loyalty_reverse`), after the stock moved (the loyalty account is always the last
lock taken).

Order status: CANCELLED once every fulfilment is cancelled, expired or rejected; COMPLETED once
every one is final and some reached the customer; ATTENTION (set by a rejection nobody else can
cover) stays until a person cancels the order or the lines are served.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.services import loyalty_reverse, loyalty_spend_reverse
from inventory import services as stock
from omni.actors import acting_user
from orders.checkout.discounts import discount_release
from orders.fulfilment import machine
from orders.fulfilment.exceptions import (
    InvalidTransition,
    OrderNotCancellable,
    PickupProofRequired,
    ShippingDetailsRequired,
    WrongPickupCode,
)
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    NotificationKind,
    Order,
    OrderStatus,
)
from orders.services.notifications import notification_queue

S = FulfilmentStatus

# Fields a transition may set besides the status (`**details`); anything else is a bug.
DETAIL_FIELDS = frozenset(
    {"carrier", "tracking_number", "pickup_deadline", "rejection_reason", "source_location"}
)
# The time each status is reached is stamped on the fulfilment.
STAMPS: dict[str, str] = {
    S.READY: "ready_at",
    S.COLLECTED: "collected_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
}
NOTIFY: dict[str, NotificationKind] = {
    S.READY: NotificationKind.READY_FOR_PICKUP,
    S.SHIPPED: NotificationKind.SHIPPED,
}
EXPIRED_NOTE = "not collected by the deadline"
SWEEP_BATCH = 500


def pickup_days() -> int:
    """Days a ready pickup waits at the store (settings.OMNI_PICKUP_DAYS, default 7)."""
    return int(getattr(settings, "OMNI_PICKUP_DAYS", 7))


def _lock(fulfilment: Fulfilment) -> Fulfilment:
    return Fulfilment.objects.select_for_update().select_related("location").get(pk=fulfilment.pk)


def _check(fulfilment: Fulfilment, to_status: str, details: dict[str, Any]) -> None:
    unknown = set(details) - DETAIL_FIELDS
    if unknown:
        raise TypeError(f"not a transition detail: {sorted(unknown)}")
    allowed = machine.allowed_next(kind=fulfilment.kind, status=fulfilment.status)
    if to_status not in allowed:
        raise InvalidTransition(
            _("%(kind)s: cannot go from “%(from)s” to “%(to)s”.")
            % {
                "kind": FulfilmentKind(fulfilment.kind).label,
                "from": S(fulfilment.status).label,
                "to": S(to_status).label,
            },
            from_status=fulfilment.status,
            to_status=to_status,
            allowed=sorted(allowed),
        )
    if to_status == S.SHIPPED and not (
        str(details.get("carrier", "")).strip() and str(details.get("tracking_number", "")).strip()
    ):
        raise ShippingDetailsRequired


def _move_stock(fulfilment: Fulfilment, performed_by: User | None, note: str) -> None:
    if fulfilment.status in machine.COMMITS_STOCK:
        stock.stock_commit(reference=fulfilment.reference, performed_by=performed_by)
    elif fulfilment.status in machine.RELEASES_STOCK:
        stock.stock_release(
            reference=fulfilment.reference, performed_by=performed_by, reason=note[:200]
        )


def order_refresh_status(*, order: Order) -> Order:
    """Derive the order's status from its fulfilments' (call it with the order locked)."""
    statuses = set(order.fulfilments.values_list("status", flat=True))
    if statuses and statuses <= machine.DEAD:
        status = OrderStatus.CANCELLED
    elif statuses and statuses <= machine.DONE | machine.DEAD:
        status = (
            OrderStatus.ATTENTION
            if order.status == OrderStatus.ATTENTION
            else OrderStatus.COMPLETED
        )
    elif order.status == OrderStatus.ATTENTION:
        status = OrderStatus.ATTENTION
    else:
        status = OrderStatus.PLACED
    if status != order.status:
        order.status = status
        Order.objects.filter(pk=order.pk).update(status=status, updated_at=timezone.now())
    return order


def fulfilment_transition(
    *,
    fulfilment: Fulfilment,
    to_status: str,
    performed_by: User | None = None,
    note: str = "",
    **details: Any,
) -> Fulfilment:
    """Move a fulfilment to `to_status` if the state machine allows it, with its stock effect.

    `details` sets fields that go with the change (carrier, tracking_number, pickup_deadline,
    rejection_reason, source_location). Returns the fulfilment as saved.

    Raises:
        InvalidTransition: the table does not allow this change; nothing is written.
        ShippingDetailsRequired: shipped without a carrier and a tracking number.
        ReservationNotActive: the units to sell are no longer held (from the stock services).
    """
    with transaction.atomic():
        locked = _lock(fulfilment)
        _check(locked, to_status, details)
        order = Order.objects.select_for_update().get(pk=locked.order_id)
        now = timezone.now()
        from_status = locked.status
        changed = {"status": to_status, "updated_at": now, **details}
        if to_status in STAMPS:
            changed[STAMPS[to_status]] = now
        if to_status == S.READY and "pickup_deadline" not in details:
            changed["pickup_deadline"] = now + timedelta(days=pickup_days())
        for field, value in changed.items():
            setattr(locked, field, value)
        Fulfilment.objects.filter(pk=locked.pk).update(**changed)
        FulfilmentTransition.objects.create(
            fulfilment=locked,
            from_status=from_status,
            to_status=to_status,
            performed_by=acting_user(performed_by),
            note=note[:200],
        )
        _move_stock(locked, performed_by, note or to_status)
        if to_status in NOTIFY:
            notification_queue(order=order, kind=NOTIFY[to_status], fulfilment=locked)
        was_cancelled = order.status == OrderStatus.CANCELLED
        order_refresh_status(order=order)
        if order.status == OrderStatus.CANCELLED and not was_cancelled:
            _order_cancelled(order, performed_by)
    locked.order = order
    return locked


def _order_cancelled(order: Order, performed_by: User | None) -> None:
    discount_release(order=order)
    order_loyalty_reverse(order=order, performed_by=performed_by)


# --- click-and-collect -------------------------------------------------------------------------


def pickup_transfer_arrived(
    *, fulfilment: Fulfilment, performed_by: User | None = None
) -> Fulfilment:
    """The units held at the source reached the pickup store: hold them there instead.

    Releases the hold at `source_location`, ships and receives a transfer to the store and
    reserves the units there, all or nothing.

    Raises:
        InvalidTransition: the fulfilment is not awaiting a transfer.
        InsufficientStock: the source no longer has the units; nothing is written.
    """
    with transaction.atomic():
        moved = fulfilment_transition(
            fulfilment=fulfilment,
            to_status=S.RESERVED,
            performed_by=performed_by,
            note="transfer arrived",
        )
        lines = [
            stock.StockLine(variant_id, quantity)
            for variant_id, quantity in moved.lines.values_list(
                "order_line__variant_id", "quantity"
            )
        ]
        stock.stock_release(
            reference=moved.reference, performed_by=performed_by, reason="transfer to store"
        )
        assert moved.source_location is not None  # a fulfilment awaiting a transfer has one
        transfer = stock.stock_transfer_ship(
            source=moved.source_location,
            destination=moved.location,
            lines=lines,
            performed_by=performed_by,
        )
        stock.stock_transfer_receive(transfer=transfer, performed_by=performed_by)
        stock.stock_reserve(
            location=moved.location,
            lines=lines,
            reference=moved.reference,
            performed_by=performed_by,
        )
    return moved


def pickup_mark_ready(*, fulfilment: Fulfilment, performed_by: User) -> Fulfilment:
    """Staff picked the order: it is ready, to collect within OMNI_PICKUP_DAYS days.

    Queues the "ready for pickup" notification (with the code and the store).

    Raises:
        InvalidTransition: the pickup is not reserved at the store (or already ready).
    """
    # The transition stamps ready_at and sets the deadline from the same instant.
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.READY, performed_by=performed_by
    )


def _normalise(code: str) -> str:
    return "".join(code.split()).upper()


def pickup_collect(
    *,
    fulfilment: Fulfilment,
    performed_by: User,
    code: str | None = None,
    identity_checked: bool = False,
) -> Fulfilment:
    """Hand the order over: the held units become a sale (stock_commit of its reference).

    Needs the pickup code, or staff saying they checked the customer's identity.

    Raises:
        PickupProofRequired: neither a code nor an identity check; nothing is written.
        WrongPickupCode: the code does not match; nothing is written.
        InvalidTransition: the pickup is not ready (cancelled, expired, collected...).
    """
    if code:
        expected = Fulfilment.objects.values_list("pickup_code", flat=True).get(pk=fulfilment.pk)
        # Constant time: the code is the customer's only credential at the counter.
        if not expected or not hmac.compare_digest(_normalise(code), _normalise(expected)):
            raise WrongPickupCode
        note = "pickup code"
    elif identity_checked:
        note = "identity checked by staff"
    else:
        raise PickupProofRequired
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.COLLECTED, performed_by=performed_by, note=note
    )


def _expire_one(fulfilment_id: int, now: datetime) -> bool:
    with transaction.atomic():
        fulfilment = (
            Fulfilment.objects.select_for_update(skip_locked=True)
            .filter(pk=fulfilment_id, status=S.READY, pickup_deadline__lte=now)
            .first()
        )
        if fulfilment is None:  # collected meanwhile, or another sweeper has it
            return False
        fulfilment_transition(fulfilment=fulfilment, to_status=S.EXPIRED, note=EXPIRED_NOTE)
    return True


def pickups_expire_overdue(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Expire the ready pickups not collected by their deadline and give their stock back.

    Idempotent and safe with several sweepers: each pickup is handled in its own short
    transaction and one another transaction holds is skipped. Returns how many expired.
    """
    now = now or timezone.now()
    ids = list(
        Fulfilment.objects.filter(
            kind=FulfilmentKind.CLICK_AND_COLLECT, status=S.READY, pickup_deadline__lte=now
        )
        .order_by("pickup_deadline", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_expire_one(fulfilment_id, now) for fulfilment_id in ids)


def pickups_send_reminders(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Remind customers whose ready pickup expires within a day, once per pickup.

    Returns how many reminders were queued.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Fulfilment.objects.filter(
                kind=FulfilmentKind.CLICK_AND_COLLECT,
                status=S.READY,
                reminder_sent_at__isnull=True,
                pickup_deadline__gt=now,
                pickup_deadline__lte=now + timedelta(days=1),
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .order_by("pk")[:limit]
        )
        Fulfilment.objects.filter(pk__in=[f.pk for f in due]).update(
            reminder_sent_at=now, updated_at=now
        )
        for fulfilment in due:
            notification_queue(
                order=fulfilment.order, kind=NotificationKind.PICKUP_REMINDER, fulfilment=fulfilment
            )
    return len(due)


# --- cancellation ------------------------------------------------------------------------------


def fulfilment_cancel(
    *, fulfilment: Fulfilment, performed_by: User | None = None, reason: str = ""
) -> Fulfilment:
    """Cancel one fulfilment and give its held stock back.

    Raises:
        InvalidTransition: it is already final (collected, shipped, expired, cancelled...).
    """
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.CANCELLED, performed_by=performed_by, note=reason
    )


def order_cancel(*, order: Order, performed_by: User | None = None, reason: str = "") -> Order:
    """Cancel every fulfilment of the order not yet final, giving its stock back.

    Cancelling a cancelled order changes nothing.

    Raises:
        OrderNotCancellable: something was already collected, shipped or sold; nothing written.
    """
    with transaction.atomic():
        fulfilments = list(
            Fulfilment.objects.filter(order=order).select_for_update().order_by("pk")
        )
        if any(f.status in machine.HANDED_OVER for f in fulfilments):
            raise OrderNotCancellable
        for fulfilment in fulfilments:
            if not machine.is_final(kind=fulfilment.kind, status=fulfilment.status):
                fulfilment_cancel(fulfilment=fulfilment, performed_by=performed_by, reason=reason)
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if fulfilments:
            order_refresh_status(order=locked)
        elif locked.status != OrderStatus.CANCELLED:
            locked.status = OrderStatus.CANCELLED
            Order.objects.filter(pk=locked.pk).update(
                status=OrderStatus.CANCELLED, updated_at=timezone.now()
            )
            _order_cancelled(locked, performed_by)
    return locked


def order_loyalty_reverse(*, order: Order, performed_by: User | None = None) -> None:
    """Undo the loyalty effects of a cancelled order: take back all it earned, give back what
    was spent on it. Idempotent (keyed by the order number), nothing for a walk-in sale."""
    customer = order.customer
    if customer is None:
        return
    staff = acting_user(performed_by)
    with transaction.atomic():
        if order.total > 0:
            loyalty_reverse(
                customer=customer,
                reference=order.number,
                amount_returned=order.total,
                total=order.total,
                return_reference=f"{order.number}-CANCEL",
                performed_by=staff,
            )
        loyalty_spend_reverse(customer=customer, reference=order.number, performed_by=staff)
