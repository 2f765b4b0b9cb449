"""Home delivery after checkout: a store's answer to a ship-from-store request, picking,
shipping with carrier and tracking number, delivery. Every change is a `fulfilment_transition`.

A store that rejects a parcel gives its stock back and the lines go to the next location the
allocation strategy picks (never one that already rejected this order). Re-allocation is all or
nothing: if the other locations cannot cover every line, the order is flagged ATTENTION for a
person to decide (split it, wait for stock, or cancel), rather than half served silently.
"""

from __future__ import annotations

import secrets
from collections import defaultdict

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory import services as stock
from inventory.allocation import Fulfilment as Proposal
from inventory.allocation import get_strategy
from inventory.exceptions import InsufficientStock
from inventory.selectors import locations
from omni.actors import acting_user
from orders.fulfilment.exceptions import NotShipFromStore, ReasonRequired
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    FulfilmentStatus,
    FulfilmentTransition,
    Order,
    OrderStatus,
)
from orders.services.fulfilment import fulfilment_transition, order_refresh_status

S = FulfilmentStatus


def _require_ship_from_store(fulfilment: Fulfilment) -> None:
    location = fulfilment.location
    if not (
        fulfilment.kind == FulfilmentKind.DELIVERY
        and location.is_store
        and location.ship_from_store
    ):
        raise NotShipFromStore


def shipment_accept(*, fulfilment: Fulfilment, performed_by: User) -> Fulfilment:
    """The store asked to ship from store takes the parcel on.

    Raises:
        NotShipFromStore: the parcel is not a ship-from-store request.
        InvalidTransition: it was already accepted, rejected, cancelled or picked.
    """
    _require_ship_from_store(fulfilment)
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.ACCEPTED, performed_by=performed_by
    )


def shipment_start_picking(
    *, fulfilment: Fulfilment, performed_by: User | None = None
) -> Fulfilment:
    """Picking of the parcel has started.

    Raises:
        InvalidTransition: the parcel is not placed or accepted.
    """
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.PICKING, performed_by=performed_by
    )


def shipment_ship(
    *,
    fulfilment: Fulfilment,
    carrier: str,
    tracking_number: str,
    performed_by: User | None = None,
) -> Fulfilment:
    """The parcel left with a carrier: the held units become a sale; the customer is told.

    Raises:
        ShippingDetailsRequired: the carrier or the tracking number is blank.
        InvalidTransition: the parcel is not being picked.
    """
    return fulfilment_transition(
        fulfilment=fulfilment,
        to_status=S.SHIPPED,
        performed_by=performed_by,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
    )


def shipment_deliver(*, fulfilment: Fulfilment, performed_by: User | None = None) -> Fulfilment:
    """The carrier delivered the parcel.

    Raises:
        InvalidTransition: the parcel was not shipped.
    """
    return fulfilment_transition(
        fulfilment=fulfilment, to_status=S.DELIVERED, performed_by=performed_by
    )


def shipment_reject(
    *, fulfilment: Fulfilment, reason: str, performed_by: User | None = None
) -> list[Fulfilment]:
    """The store cannot ship the parcel: release its stock and re-allocate its lines elsewhere.

    Returns the new fulfilments (each reserving at its location); an empty list when no other
    location can cover every line, and the order is then flagged ATTENTION with the reason.

    Raises:
        ReasonRequired: the reason is blank; nothing is written.
        NotShipFromStore: the parcel is not a ship-from-store request.
        InvalidTransition: the parcel was already shipped, rejected or cancelled.
    """
    reason = reason.strip()
    if not reason:
        raise ReasonRequired(_("Say why the store cannot ship this parcel."))
    _require_ship_from_store(fulfilment)
    with transaction.atomic():
        rejected = fulfilment_transition(
            fulfilment=fulfilment,
            to_status=S.REJECTED,
            performed_by=performed_by,
            note=reason,
            rejection_reason=reason[:200],
        )
        order = rejected.order
        created = _reallocate(order=order, rejected=rejected, performed_by=performed_by)
        if created:
            order_refresh_status(order=order)
        else:
            order.status = OrderStatus.ATTENTION
            order.attention_reason = _(
                "%(store)s rejected parcel %(reference)s (%(reason)s) and no other location "
                "can ship all of it."
            ) % {"store": rejected.location.name, "reference": rejected.reference, "reason": reason}
            order.attention_reason = order.attention_reason[:200]
            Order.objects.filter(pk=order.pk).update(
                status=order.status,
                attention_reason=order.attention_reason,
                updated_at=timezone.now(),
            )
    return created


def _reallocate(
    *, order: Order, rejected: Fulfilment, performed_by: User | None
) -> list[Fulfilment]:
    """New fulfilments for the rejected lines, reserved; [] when they cannot all be covered."""
    pool: dict[int, list[list[int]]] = defaultdict(list)  # variant -> [[order line, units]]
    for line in rejected.lines.select_related("order_line").order_by("pk"):
        pool[line.order_line.variant_id].append([line.order_line_id, line.quantity])
    wanted = [stock.StockLine(v, sum(q for _id, q in taken)) for v, taken in pool.items()]
    refused = list(
        order.fulfilments.filter(status=S.REJECTED).values_list("location_id", flat=True)
    )
    candidates = locations().active().delivery_sources().exclude(pk__in=refused)
    allocation = get_strategy().allocate(lines=wanted, candidates=candidates)
    if not allocation.is_complete or not allocation.fulfilments:
        return []
    try:
        # A savepoint: the strategy read stock without locks, the reservation checks it again.
        with transaction.atomic():
            return [
                _create_delivery(order, proposal, pool, rejected, performed_by)
                for proposal in allocation.fulfilments
            ]
    except InsufficientStock:
        return []


def _create_delivery(
    order: Order,
    proposal: Proposal,
    pool: dict[int, list[list[int]]],
    rejected: Fulfilment,
    performed_by: User | None,
) -> Fulfilment:
    fulfilment = Fulfilment.objects.create(
        order=order,
        kind=FulfilmentKind.DELIVERY,
        status=S.PLACED,
        reference=f"{order.number}-{secrets.token_hex(3).upper()}",
        location=proposal.location,
    )
    lines = []
    for variant_id, units in proposal.lines:
        for entry in pool[variant_id]:
            taken = min(units, entry[1])
            if taken:
                lines.append(
                    FulfilmentLine(fulfilment=fulfilment, order_line_id=entry[0], quantity=taken)
                )
                entry[1] -= taken
                units -= taken
    FulfilmentLine.objects.bulk_create(lines)
    FulfilmentTransition.objects.create(
        fulfilment=fulfilment,
        to_status=S.PLACED,
        performed_by=acting_user(performed_by),
        note=f"re-allocated from {rejected.reference}"[:200],
    )
    stock.stock_reserve(
        location=proposal.location,
        lines=list(proposal.lines),
        reference=fulfilment.reference,
        performed_by=performed_by,
    )
    return fulfilment
