"""Stock sent from one location to another: out of the source when shipped, in when received."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.exceptions import InvalidStateChange, SameLocation
from inventory.models import Location, MovementKind, Transfer, TransferLine, TransferStatus
from inventory.services._ledger import (
    LedgerBatch,
    StockLine,
    lock_levels,
    sum_by_variant,
    take_free,
)
from omni.actors import acting_user


def _new_reference() -> str:
    return f"TR-{timezone.now():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def stock_transfer_ship(
    *,
    source: Location,
    destination: Location,
    lines: Sequence[StockLine],
    performed_by: User | None = None,
    reference: str | None = None,
    expected_at: datetime | None = None,
) -> Transfer:
    """Send units from the source's free stock to another location (TRANSFER_OUT rows).

    Without `expected_at`, the transfer is expected after the destination's lead time.

    Raises:
        SameLocation: source and destination are the same location.
        InvalidQuantity: a quantity is not a whole number above zero.
        UnknownVariant: a variant does not exist or is no longer sold.
        InsufficientStock: free stock at the source does not cover a line; nothing is written.
    """
    if source.pk == destination.pk:
        raise SameLocation(_("A transfer needs two different locations."))
    wanted = sum_by_variant(lines)
    reference = reference or _new_reference()
    with transaction.atomic():
        take_free(
            location_id=source.pk,
            wanted=wanted,
            kind=MovementKind.TRANSFER_OUT,
            reference=reference,
            performed_by=performed_by,
        )
        transfer = Transfer.objects.create(
            reference=reference,
            source=source,
            destination=destination,
            expected_at=expected_at
            or timezone.now() + timedelta(days=destination.transfer_lead_days),
            created_by=acting_user(performed_by),
        )
        TransferLine.objects.bulk_create(
            [
                TransferLine(transfer=transfer, variant_id=variant_id, quantity=quantity)
                for variant_id, quantity in wanted.items()
            ]
        )
    return transfer


def stock_transfer_receive(*, transfer: Transfer, performed_by: User | None = None) -> Transfer:
    """Put a shipped transfer's units into stock at its destination (TRANSFER_IN rows).

    Raises:
        InvalidStateChange: the transfer is not in transit (already received).
    """
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status != TransferStatus.IN_TRANSIT:
            raise InvalidStateChange(_("This transfer has already been received."))
        lines = dict(locked.lines.order_by("variant_id").values_list("variant_id", "quantity"))
        levels = lock_levels(location_id=locked.destination_id, variant_ids=lines, create=True)
        batch = LedgerBatch(performed_by=performed_by)
        for variant_id, quantity in lines.items():
            batch.move(
                levels[variant_id],
                kind=MovementKind.TRANSFER_IN,
                reference=locked.reference,
                on_hand=quantity,
            )
        locked.status = TransferStatus.RECEIVED
        locked.received_at = timezone.now()
        locked.received_by = batch.performed_by
        locked.save(update_fields=["status", "received_at", "received_by"])
        batch.save()
    return locked
