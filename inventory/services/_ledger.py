"""What every stock service shares: line checks, row locks in one fixed order, the ledger batch.

Lock order, everywhere: reservation rows first (by primary key), then stock rows (by primary
key). `stock_reserve` only takes stock rows; the services that close reservations (release,
commit, expiry, count) take the reservations first. Two transactions therefore always wait for
each other in the same direction and cannot deadlock, whatever order the caller's lines came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.exceptions import InsufficientStock, InvalidQuantity, UnknownVariant
from inventory.models import (
    MovementKind,
    Reservation,
    StockEvent,
    StockEventKind,
    StockLevel,
    StockMovement,
    Variant,
)

# Fields a service reads from a locked stock row; the rest of the row is never needed.
_LEVEL_FIELDS = ("pk", "variant_id", "location_id", "on_hand", "reserved")


class StockLine(NamedTuple):
    variant_id: int
    quantity: int


def is_whole(value: object) -> bool:
    """True for an int that is not a bool (True is an int in Python, never a quantity)."""
    return isinstance(value, int) and not isinstance(value, bool)


def sum_by_variant(
    lines: Iterable[StockLine | Sequence[int] | Mapping[str, Any]],
) -> dict[int, int]:
    """Sum the quantities of the lines per variant, in variant order.

    Lines are StockLines, (variant_id, quantity) pairs or mappings with those two keys (what a
    DRF serializer gives).

    Raises:
        InvalidQuantity: no line at all, or a quantity that is not a whole number above zero.
        UnknownVariant: a variant id that is not a whole number.
    """
    wanted: dict[int, int] = {}
    for line in lines:
        if isinstance(line, Mapping):
            variant_id, quantity = line["variant_id"], line["quantity"]
        else:
            variant_id, quantity = line
        if not is_whole(variant_id):
            raise UnknownVariant(variant_ids=[variant_id])
        if not is_whole(quantity) or quantity <= 0:
            raise InvalidQuantity(
                _("Quantities must be whole numbers above zero."), variant_ids=[variant_id]
            )
        wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    if not wanted:
        raise InvalidQuantity(_("At least one line is needed."), variant_ids=[])
    return dict(sorted(wanted.items()))


def known_variants(variant_ids: Iterable[int], *, active_only: bool = True) -> dict[int, int]:
    """Check the variants in one query; return each one's low-stock threshold.

    Raises:
        UnknownVariant: a variant does not exist (or, with `active_only`, is no longer sold).
    """
    ids = sorted(set(variant_ids))
    bad = [variant_id for variant_id in ids if not is_whole(variant_id)]
    if bad:
        raise UnknownVariant(variant_ids=bad)
    variants = Variant.objects.filter(pk__in=ids)
    if active_only:
        variants = variants.filter(is_active=True)
    thresholds = dict(variants.values_list("pk", "low_stock_threshold"))
    missing = [variant_id for variant_id in ids if variant_id not in thresholds]
    if missing:
        raise UnknownVariant(variant_ids=missing)
    return thresholds


def _locked(levels: QuerySet[StockLevel]) -> list[StockLevel]:
    # ORDER BY sits below FOR UPDATE in PostgreSQL's plan: rows are locked in primary-key order.
    return list(levels.select_for_update().order_by("pk").only(*_LEVEL_FIELDS))


def lock_levels(
    *, location_id: int, variant_ids: Iterable[int], create: bool = False
) -> dict[int, StockLevel]:
    """Lock the stock rows of these variants at one location, by primary key; key them by variant.

    With `create`, missing rows are first inserted empty (ON CONFLICT DO NOTHING, so two
    transactions creating the same row do not fail) and then locked as well.
    """
    ids = sorted(set(variant_ids))
    levels = {
        level.variant_id: level
        for level in _locked(StockLevel.objects.filter(location_id=location_id, variant_id__in=ids))
    }
    missing = [variant_id for variant_id in ids if variant_id not in levels]
    if create and missing:
        StockLevel.objects.bulk_create(
            [StockLevel(variant_id=variant_id, location_id=location_id) for variant_id in missing],
            ignore_conflicts=True,
        )
        created = StockLevel.objects.filter(location_id=location_id, variant_id__in=missing)
        levels.update((level.variant_id, level) for level in _locked(created))
    return levels


def lock_levels_of(reservations: Sequence[Reservation]) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows the reservations hold units on, by primary key.

    Keyed by (location_id, variant_id). Call it after locking the reservations themselves.
    """
    held = Reservation.objects.filter(
        pk__in=[reservation.pk for reservation in reservations],
        location_id=OuterRef("location_id"),
        variant_id=OuterRef("variant_id"),
    )
    return {
        (level.location_id, level.variant_id): level
        for level in _locked(StockLevel.objects.filter(Exists(held)))
    }


def raise_if_short(
    levels: Mapping[int, StockLevel], wanted: Mapping[int, int], keep: int = 0
) -> None:
    """Check, under the lock, that free stock minus `keep` covers every wanted quantity.

    Raises:
        InsufficientStock: naming every variant that is short; nothing has been written.
    """
    short = [
        variant_id
        for variant_id, quantity in wanted.items()
        if variant_id not in levels or max(levels[variant_id].free - keep, 0) < quantity
    ]
    if short:
        raise InsufficientStock(variant_ids=short)


def actor(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    # The API passes request.user, which may be anonymous for a service account's proxy.
    return user if user is not None and user.is_authenticated else None


class LedgerBatch:
    """Changes to locked stock rows, saved at once with their ledger rows and stock events.

    Each `move` changes a row in memory and appends its ledger row, so on-hand and reserved
    always equal the sums of the ledger. Events compare each row before the first and after the
    last change of the operation, so one operation writes at most one event per row.
    """

    def __init__(
        self, *, performed_by: AbstractBaseUser | None, thresholds: Mapping[int, int] | None = None
    ) -> None:
        self.performed_by = actor(performed_by)
        self.thresholds = dict(thresholds or {})
        self.movements: list[StockMovement] = []
        self._levels: dict[int, StockLevel] = {}
        self._free_before: dict[int, int] = {}

    def move(
        self,
        level: StockLevel,
        *,
        kind: MovementKind,
        reference: str,
        on_hand: int = 0,
        reserved: int = 0,
        reason: str = "",
    ) -> StockMovement:
        self._levels.setdefault(level.pk, level)
        self._free_before.setdefault(level.pk, level.free)
        level.on_hand += on_hand
        level.reserved += reserved
        movement = StockMovement(
            variant_id=level.variant_id,
            location_id=level.location_id,
            kind=kind,
            on_hand_delta=on_hand,
            reserved_delta=reserved,
            reason=reason,
            reference=reference,
            performed_by=self.performed_by,
        )
        self.movements.append(movement)
        return movement

    def save(self) -> list[StockMovement]:
        """Write the rows, the ledger and the events (the database constraints are the backstop)."""
        now = timezone.now()
        levels = list(self._levels.values())
        if len(levels) == 1:
            (level,) = levels
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=level.on_hand, reserved=level.reserved, updated_at=now
            )
        elif levels:
            for level in levels:
                level.updated_at = now
            StockLevel.objects.bulk_update(levels, ["on_hand", "reserved", "updated_at"])
        StockMovement.objects.bulk_create(self.movements)
        events = self._events(levels)
        if events:
            StockEvent.objects.bulk_create(events)
        return self.movements

    def _events(self, levels: list[StockLevel]) -> list[StockEvent]:
        falling = [level for level in levels if level.free < self._free_before[level.pk]]
        unknown = {level.variant_id for level in falling} - set(self.thresholds)
        if unknown:
            self.thresholds.update(
                Variant.objects.filter(pk__in=sorted(unknown)).values_list(
                    "pk", "low_stock_threshold"
                )
            )
        events = []
        for level in levels:
            before, after = self._free_before[level.pk], level.free
            if before <= 0 < after:
                kind = StockEventKind.BACK_IN_STOCK
            elif after < before and before > self.thresholds[level.variant_id] >= after:
                kind = StockEventKind.LOW_STOCK
            else:
                continue
            events.append(
                StockEvent(
                    kind=kind,
                    variant_id=level.variant_id,
                    location_id=level.location_id,
                    available=max(after, 0),
                )
            )
        return events
