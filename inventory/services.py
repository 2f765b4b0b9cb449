"""Every change to stock goes through this module: atomic, ledgered, safe under concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from inventory.models import Location, MovementKind, StockLevel, StockMovement


class StockLine(NamedTuple):
    variant_id: int
    quantity: int


def stock_initialise(
    *,
    location: Location,
    lines: Sequence[StockLine],
    reference: str,
    performed_by: AbstractBaseUser | None = None,
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
