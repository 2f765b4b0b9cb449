"""Stock counts, and the shortage queue a count feeds when it finds fewer units than are held."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.exceptions import InvalidQuantity, InvalidStateChange
from inventory.models import (
    Location,
    MovementKind,
    Reservation,
    ReservationStatus,
    Shortage,
    ShortageStatus,
    StockMovement,
)
from inventory.services._ledger import (
    LedgerBatch,
    StockLine,
    is_whole,
    known_variants,
    lock_levels,
)
from inventory.services.reservations import stock_reserve
from omni.actors import acting_user

SHORTAGE_REASON = "short after a stock count"


class CountResult(NamedTuple):
    """A stock count's COUNT movement, and the shortages it left (reservations no longer
    covered)."""

    movement: StockMovement
    shortages: list[Shortage]


def stock_count(
    *,
    location: Location,
    variant_id: int,
    counted: int,
    performed_by: User | None = None,
    reference: str = "",
) -> CountResult:
    """Record a physical count of one variant: on-hand becomes `counted` (a COUNT row).

    When fewer units are counted than are reserved, the count still stands: reservations are
    released newest first until the rest are covered, marked SHORTED and queued as shortages
    for staff to re-allocate or cancel.

    Raises:
        InvalidQuantity: the count is not a whole number of zero or more.
        UnknownVariant: the variant does not exist.
    """
    if not is_whole(counted) or counted < 0:
        raise InvalidQuantity(
            _("A count is a whole number of zero or more."), variant_ids=[variant_id]
        )
    with transaction.atomic():
        thresholds = known_variants([variant_id], active_only=False)
        # Reservations before the stock row: the lock order every service follows.
        held = list(
            Reservation.objects.filter(
                location_id=location.pk, variant_id=variant_id, status=ReservationStatus.ACTIVE
            )
            .select_for_update()
            .order_by("pk")
        )
        levels = lock_levels(location_id=location.pk, variant_ids=[variant_id], create=True)
        level = levels[variant_id]
        batch = LedgerBatch(performed_by=performed_by, thresholds=thresholds)
        movement = batch.move(
            level, kind=MovementKind.COUNT, reference=reference, on_hand=counted - level.on_hand
        )
        shorted = []
        for reservation in sorted(held, key=lambda r: (r.created_at, r.pk), reverse=True):
            if level.reserved <= counted:
                break
            batch.move(
                level,
                kind=MovementKind.RELEASE,
                reference=reservation.reference,
                reserved=-reservation.quantity,
                reason=SHORTAGE_REASON,
            )
            shorted.append(reservation)
        shortages = _queue_shortages(shorted)
        batch.save()
    return CountResult(movement=movement, shortages=shortages)


def _queue_shortages(reservations: list[Reservation]) -> list[Shortage]:
    if not reservations:
        return []
    now = timezone.now()
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
        status=ReservationStatus.SHORTED, closed_at=now
    )
    for reservation in reservations:
        reservation.status, reservation.closed_at = ReservationStatus.SHORTED, now
    return Shortage.objects.bulk_create(
        [
            Shortage(
                reservation=reservation,
                variant_id=reservation.variant_id,
                location_id=reservation.location_id,
                quantity=reservation.quantity,
                reference=reservation.reference,
            )
            for reservation in reservations
        ]
    )


def _lock_open(shortage: Shortage) -> Shortage:
    locked = Shortage.objects.select_for_update().get(pk=shortage.pk)
    if locked.status != ShortageStatus.OPEN:
        raise InvalidStateChange(_("This shortage has already been resolved."))
    return locked


def _resolve(
    shortage: Shortage,
    locked: Shortage,
    *,
    performed_by: User | None,
    **changes: object,
) -> None:
    changes = {"resolved_at": timezone.now(), "resolved_by": acting_user(performed_by), **changes}
    for name, value in changes.items():
        setattr(locked, name, value)
        setattr(shortage, name, value)
    locked.save(update_fields=list(changes))


def shortage_reallocate(
    *,
    shortage: Shortage,
    location: Location,
    performed_by: User | None = None,
    expires_at: datetime | None = None,
) -> list[Reservation]:
    """Reserve the shortage's units for the same reference at another location; mark it done.

    Raises:
        InvalidStateChange: the shortage is already resolved.
        UnknownVariant: the variant is no longer sold.
        InsufficientStock: the location cannot cover it; the shortage stays open.
    """
    with transaction.atomic():
        locked = _lock_open(shortage)
        reservations = stock_reserve(
            location=location,
            lines=[StockLine(variant_id=locked.variant_id, quantity=locked.quantity)],
            reference=locked.reference,
            expires_at=expires_at,
            performed_by=performed_by,
        )
        _resolve(
            shortage,
            locked,
            performed_by=performed_by,
            status=ShortageStatus.REALLOCATED,
            resolution_location=location,
        )
    return reservations


def shortage_cancel(
    *, shortage: Shortage, performed_by: User | None = None, note: str = ""
) -> Shortage:
    """Close a shortage without re-allocating it (the order line will not be served).

    Raises:
        InvalidStateChange: the shortage is already resolved.
    """
    with transaction.atomic():
        locked = _lock_open(shortage)
        _resolve(
            shortage, locked, performed_by=performed_by, status=ShortageStatus.CANCELLED, note=note
        )
    return locked
