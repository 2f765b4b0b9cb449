"""Units held for a reference (an order, a cart) until they are sold, released or expire."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.exceptions import ReservationNotActive, ServiceNotOffered
from inventory.models import (
    Location,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockMovement,
)
from inventory.services._ledger import (
    RESERVATIONS,
    LedgerBatch,
    StockLine,
    lock_levels_of,
    sum_by_variant,
    take_free,
)

EXPIRED_REASON = "expired"


def stock_reserve(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    expires_at: datetime | None = None,
    performed_by: User | None = None,
    for_pickup: bool = False,
    savepoint: bool = True,
) -> list[Reservation]:
    """Hold stock at one location for every line, all or nothing.

    For a pickup the location must offer click-and-collect, and its pickup safety stock stays
    on the shelf for walk-in customers.

    Args:
        savepoint: False when the caller's transaction is rolled back as a whole on any error
            (a checkout re-raises): no SAVEPOINT/RELEASE round trips; a caught error then leaves
            that transaction unusable, so keep the default anywhere else.

    Raises:
        InvalidQuantity: a quantity is not a whole number above zero.
        ServiceNotOffered: a pickup at a location without click-and-collect.
        UnknownVariant: a variant does not exist or is no longer sold.
        InsufficientStock: a line cannot be covered (every short variant is named); nothing is
            written.
    """
    wanted = sum_by_variant(lines)
    if for_pickup and not location.click_and_collect:
        raise ServiceNotOffered(_("This store does not offer click-and-collect."))
    keep = location.safety_stock_pickup if for_pickup else 0
    reservations = [
        Reservation(
            variant_id=variant_id,
            location_id=location.pk,
            quantity=quantity,
            reference=reference,
            expires_at=expires_at,
        )
        for variant_id, quantity in wanted.items()
    ]
    with transaction.atomic(savepoint=savepoint):
        # Written before the stock rows are locked (with the ledger rows, in one statement), as
        # they need no lock; a short line undoes them.
        take_free(
            location_id=location.pk,
            wanted=wanted,
            kind=MovementKind.RESERVATION,
            reference=reference,
            performed_by=performed_by,
            hold=True,
            keep=keep,
            along=[(RESERVATIONS, reservations)],
        )
    return reservations


def _chosen(reference: str | None, reservation_ids: Sequence[int] | None) -> QuerySet[Reservation]:
    if (reference is None) == (reservation_ids is None):
        raise TypeError("pass exactly one of reference and reservation_ids")
    if reference is not None:
        return Reservation.objects.filter(reference=reference)
    return Reservation.objects.filter(pk__in=list(reservation_ids or []))


def _close(
    reservations: list[Reservation],
    *,
    status: ReservationStatus,
    performed_by: User | None,
    reason: str = "",
) -> list[StockMovement]:
    """Close locked, active reservations: sold (SALE rows) or given back (RELEASE rows)."""
    levels = lock_levels_of(reservations)
    batch = LedgerBatch(performed_by=performed_by)
    for reservation in reservations:
        level = levels[(reservation.location_id, reservation.variant_id)]
        sold = status == ReservationStatus.COMMITTED
        batch.move(
            level,
            kind=MovementKind.SALE if sold else MovementKind.RELEASE,
            reference=reservation.reference,
            on_hand=-reservation.quantity if sold else 0,
            reserved=-reservation.quantity,
            reason=reason,
        )
    now = timezone.now()
    Reservation.objects.filter(pk__in=[reservation.pk for reservation in reservations]).update(
        status=status, closed_at=now
    )
    for reservation in reservations:
        reservation.status, reservation.closed_at = status, now
    return batch.save()


def stock_release(
    *,
    reference: str | None = None,
    reservation_ids: Sequence[int] | None = None,
    performed_by: User | None = None,
    reason: str = "",
) -> int:
    """Give back the units of the active reservations of a reference (or of these ids).

    Releasing twice is harmless: reservations no longer active are left alone. Returns how many
    reservations were released.
    """
    with transaction.atomic():
        reservations = list(
            _chosen(reference, reservation_ids)
            .filter(status=ReservationStatus.ACTIVE)
            .select_for_update()
            .order_by("pk")
        )
        if reservations:
            _close(
                reservations,
                status=ReservationStatus.RELEASED,
                performed_by=performed_by,
                reason=reason,
            )
    return len(reservations)


def stock_commit(
    *,
    reference: str | None = None,
    reservation_ids: Sequence[int] | None = None,
    performed_by: User | None = None,
) -> list[StockMovement]:
    """Turn held units into a sale: on-hand and reserved both drop (a SALE row per reservation).

    With a reference, its active reservations are sold (older, closed ones of the same reference
    are ignored); with ids, every one of them must still be active.

    Raises:
        ReservationNotActive: nothing active to sell, or one of the ids is not active.
    """
    with transaction.atomic():
        chosen = _chosen(reference, reservation_ids)
        if reference is not None:
            chosen = chosen.filter(status=ReservationStatus.ACTIVE)
        reservations = list(chosen.select_for_update().order_by("pk"))
        active = [r for r in reservations if r.status == ReservationStatus.ACTIVE]
        found = {reservation.pk for reservation in active}
        not_active = [pk for pk in reservation_ids or [] if pk not in found]
        if not active or not_active:
            raise ReservationNotActive(reservation_ids=not_active)
        return _close(active, status=ReservationStatus.COMMITTED, performed_by=performed_by)


def stock_release_expired(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Give back the units of reservations whose hold has run out (status EXPIRED).

    Idempotent, and safe with several sweepers at once: reservations another transaction holds
    are skipped, not waited for. Returns how many were released; the rest wait for the next run.
    """
    now = now or timezone.now()
    with transaction.atomic():
        reservations = list(
            Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("pk")[:limit]
        )
        if reservations:
            _close(
                reservations,
                status=ReservationStatus.EXPIRED,
                performed_by=None,
                reason=EXPIRED_REASON,
            )
    return len(reservations)
