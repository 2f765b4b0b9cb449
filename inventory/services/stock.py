"""Units coming in and going out of one location: receipts, adjustments, till sales, returns."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from inventory.exceptions import InsufficientStock, InvalidQuantity, ReasonRequired
from inventory.models import Location, MovementKind, StockLevel, StockMovement
from inventory.services._ledger import (
    LedgerBatch,
    StockLine,
    is_whole,
    known_variants,
    lock_levels,
    sum_by_variant,
    take_free,
)


def stock_initialise(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    performed_by: User | None = None,
) -> int:
    """Receive opening stock in bulk where a variant has no stock level yet at the location.

    Used by demo seeding and first imports: variants already stocked there are left alone.
    Returns the number of levels created.
    """
    with transaction.atomic():
        existing = set(
            StockLevel.objects.filter(location=location).values_list("variant_id", flat=True)
        )
        new = [line for line in lines if line.variant_id not in existing and line.quantity > 0]
        StockLevel.objects.bulk_create(
            [
                StockLevel(variant_id=line.variant_id, location=location, on_hand=line.quantity)
                for line in new
            ],
            batch_size=2_000,
        )
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    variant_id=line.variant_id,
                    location=location,
                    kind=MovementKind.RECEIPT,
                    on_hand_delta=line.quantity,
                    reference=reference,
                    reason="opening stock",
                    performed_by=performed_by,
                )
                for line in new
            ],
            batch_size=2_000,
        )
    return len(new)


def stock_receive(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    performed_by: User | None = None,
) -> list[StockMovement]:
    """Put delivered units into stock at one location (a RECEIPT row per variant).

    Raises:
        InvalidQuantity: a quantity is not a whole number above zero.
        UnknownVariant: a variant does not exist or is no longer sold.
    """
    wanted = sum_by_variant(lines)
    with transaction.atomic():
        thresholds = known_variants(wanted)
        levels = lock_levels(location_id=location.pk, variant_ids=wanted, create=True)
        batch = LedgerBatch(performed_by=performed_by, thresholds=thresholds)
        for variant_id, quantity in wanted.items():
            batch.move(
                levels[variant_id], kind=MovementKind.RECEIPT, reference=reference, on_hand=quantity
            )
        return batch.save()


def stock_adjust(
    *,
    location: Location,
    variant_id: int,
    delta: int,
    reason: str,
    performed_by: User | None = None,
    reference: str = "",
) -> StockMovement:
    """Correct the on-hand quantity of one variant by `delta` units, for a stated reason.

    A discontinued variant can still be adjusted (written off, found again).

    Raises:
        ReasonRequired: the reason is blank.
        InvalidQuantity: delta is zero or not a whole number.
        UnknownVariant: the variant does not exist.
        InsufficientStock: the change would leave fewer units on hand than are reserved.
    """
    if not reason or not reason.strip():
        raise ReasonRequired(_("An adjustment needs a reason."))
    if not is_whole(delta) or delta == 0:
        raise InvalidQuantity(
            _("An adjustment is a whole number of units, other than zero."),
            variant_ids=[variant_id],
        )
    with transaction.atomic():
        thresholds = known_variants([variant_id], active_only=False)
        level = lock_levels(
            location_id=location.pk, variant_ids=[variant_id], create=delta > 0
        ).get(variant_id)
        if level is None or level.on_hand + delta < level.reserved:
            raise InsufficientStock(variant_ids=[variant_id])
        batch = LedgerBatch(performed_by=performed_by, thresholds=thresholds)
        movement = batch.move(
            level,
            kind=MovementKind.ADJUSTMENT,
            reference=reference,
            on_hand=delta,
            reason=reason.strip(),
        )
        batch.save()
    return movement


def stock_sell(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    performed_by: User | None = None,
    savepoint: bool = True,
) -> list[StockMovement]:
    """Sell at the till from free stock (on hand minus reserved), all lines or none.

    Args:
        savepoint: False when the caller's transaction is rolled back as a whole on any error
            (a checkout re-raises): no SAVEPOINT/RELEASE round trips; a caught error then leaves
            that transaction unusable, so keep the default anywhere else.

    Raises:
        InvalidQuantity: a quantity is not a whole number above zero.
        UnknownVariant: a variant does not exist or is no longer sold.
        InsufficientStock: free stock does not cover a line; nothing is written.
    """
    wanted = sum_by_variant(lines)
    with transaction.atomic(savepoint=savepoint):
        return take_free(
            location_id=location.pk,
            wanted=wanted,
            kind=MovementKind.SALE,
            reference=reference,
            performed_by=performed_by,
        )


def stock_return(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    performed_by: User | None = None,
    reason: str = "",
) -> list[StockMovement]:
    """Put returned units back into stock at the location that takes the return.

    A discontinued variant can still be returned: the customer has it in her hands.

    Raises:
        InvalidQuantity: a quantity is not a whole number above zero.
        UnknownVariant: a variant does not exist.
    """
    wanted = sum_by_variant(lines)
    with transaction.atomic():
        thresholds = known_variants(wanted, active_only=False)
        levels = lock_levels(location_id=location.pk, variant_ids=wanted, create=True)
        batch = LedgerBatch(performed_by=performed_by, thresholds=thresholds)
        for variant_id, quantity in wanted.items():
            batch.move(
                levels[variant_id],
                kind=MovementKind.RETURN,
                reference=reference,
                on_hand=quantity,
                reason=reason,
            )
        return batch.save()
