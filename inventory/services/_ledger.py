"""What every stock service shares: line checks, row locks in one fixed order, the ledger batch.

Lock order, everywhere: reservation rows first (by primary key), then stock rows (by primary
key). Services that take units out of free stock (reserve, till sale, transfer out) lock only
stock rows, with `take_free`; the services that close reservations (release, commit, expiry,
count) take the reservations first. Two transactions therefore always wait for each other in the
same direction and cannot deadlock, whatever order the caller's lines came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.availability import take_condition_sql
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
from omni.actors import acting_user
from omni.db import Insert, insert_together

# Fields a service reads from a locked stock row; the rest of the row is never needed.
_LEVEL_FIELDS = ("pk", "variant_id", "location_id", "on_hand", "reserved")
# Primary keys are bigints: a larger id names no variant (and would not fit in a query).
_LARGEST_ID = 2**63 - 1

# The ledger's rows and the reservations, written out (see omni.db): one statement with
# `insert_together` whatever the number of lines, where `bulk_create` per model compiled each
# INSERT in more CPU than PostgreSQL took to run it. Measured with the checkout's statements
# (bench/checkout.py `--without statements` swaps both): see orders/services/checkout.py.
# tests/omni/test_statements.py checks them against their models.
MOVEMENTS = Insert(
    StockMovement,
    """INSERT INTO inventory_stockmovement (variant_id, location_id, kind, on_hand_delta,
        reserved_delta, reason, reference, performed_by_id, created_at)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::integer[],
        %s::integer[], %s::varchar[], %s::varchar[], %s::integer[], %s::timestamptz[])
    RETURNING id""",
)
RESERVATIONS = Insert(
    Reservation,
    """INSERT INTO inventory_reservation (variant_id, location_id, quantity, reference, status,
        expires_at, created_at, closed_at)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::integer[], %s::varchar[],
        %s::varchar[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
    RETURNING id""",
)

# Taking units out of free stock is the hot path (one popular article, many buyers), so it is one
# statement whatever the number of lines. The CTE locks the stock rows of variants still sold, in
# primary-key order, the order every service locks stock rows in (baskets in opposite orders
# cannot deadlock); the UPDATE then takes the units only where free stock, minus what the
# location keeps back, still covers them: check and write are one step, and PostgreSQL re-reads a
# row changed by a transaction it waited for before applying the condition. Raw SQL because the
# ORM's `.update()` returns a count, not the rows (events need them), and cannot lock in order.
_TAKE_FREE_SQL = """
WITH locked AS MATERIALIZED (
    SELECT level.id, variant.low_stock_threshold
    FROM inventory_stocklevel AS level
    JOIN inventory_variant AS variant ON variant.id = level.variant_id AND variant.is_active
    WHERE level.location_id = %(location_id)s AND level.variant_id = ANY(%(variant_ids)s::bigint[])
    ORDER BY level.id
    FOR UPDATE OF level
)
UPDATE inventory_stocklevel AS level
SET {column} = level.{column} {sign} wanted.quantity, updated_at = %(now)s
FROM locked, unnest(%(variant_ids)s::bigint[], %(quantities)s::integer[])
    AS wanted (variant_id, quantity)
WHERE level.id = locked.id
    AND level.variant_id = wanted.variant_id
    AND {condition}
RETURNING level.id, level.variant_id, level.on_hand, level.reserved, locked.low_stock_threshold
"""
_TAKEN_IF = take_condition_sql("level", keep="%(keep)s", quantity="wanted.quantity")
_HOLD_SQL = _TAKE_FREE_SQL.format(column="reserved", sign="+", condition=_TAKEN_IF)
_TAKE_OUT_SQL = _TAKE_FREE_SQL.format(column="on_hand", sign="-", condition=_TAKEN_IF)


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
        if not is_whole(variant_id) or variant_id > _LARGEST_ID:
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


def take_free(
    *,
    location_id: int,
    wanted: Mapping[int, int],
    kind: MovementKind,
    reference: str,
    performed_by: User | None,
    hold: bool = False,
    keep: int = 0,
    along: Sequence[tuple[Insert, Sequence[Model]]] = (),
) -> list[StockMovement]:
    """Take units out of free stock at one location, every line or none: reserve them (`hold`)
    or send them out of on-hand. Call it inside the service's transaction, after any row of the
    operation that needs no stock lock.

    The ledger rows go in before the stock rows are touched, so those stay locked only from the
    UPDATE to the commit. The variants are checked by the UPDATE itself; only when a line was not
    taken are they read again, to tell an unknown variant from a short one. Either error rolls
    back the caller's transaction with the rows already written (foreign keys are checked at
    commit, so a ledger row naming an unknown variant never gets that far).

    `along`: other new rows of the operation (its reservations) with their statement, written
    in the same statement as the ledger rows (one round trip).

    Raises:
        UnknownVariant: a variant does not exist or is no longer sold.
        InsufficientStock: free stock minus `keep` does not cover a line (every one is named).
    """
    performed_by = acting_user(performed_by)
    movements = [
        StockMovement(
            variant_id=variant_id,
            location_id=location_id,
            kind=kind,
            reserved_delta=quantity if hold else 0,
            on_hand_delta=0 if hold else -quantity,
            reference=reference,
            performed_by=performed_by,
        )
        for variant_id, quantity in wanted.items()
    ]
    insert_together(*along, (MOVEMENTS, movements))
    with connection.cursor() as cursor:
        cursor.execute(
            _HOLD_SQL if hold else _TAKE_OUT_SQL,
            {
                "location_id": location_id,
                "variant_ids": list(wanted),
                "quantities": list(wanted.values()),
                "keep": keep,
                "now": timezone.now(),
            },
        )
        rows = cursor.fetchall()
    if len(rows) < len(wanted):
        known_variants(wanted)
        taken_ids = {row[1] for row in rows}
        raise InsufficientStock(
            variant_ids=[variant_id for variant_id in wanted if variant_id not in taken_ids]
        )
    events = _taken_events(rows, wanted, location_id=location_id)
    if events:
        StockEvent.objects.bulk_create(events)
    return movements


def _taken_events(
    rows: Sequence[tuple[int, int, int, int, int]], wanted: Mapping[int, int], *, location_id: int
) -> list[StockEvent]:
    changes, thresholds = [], {}
    for pk, variant_id, on_hand, reserved, threshold in rows:
        level = StockLevel(
            pk=pk,
            variant_id=variant_id,
            location_id=location_id,
            on_hand=on_hand,
            reserved=reserved,
        )
        # Every line lowered free stock by its quantity, whichever column it took from.
        changes.append((level, level.free + wanted[variant_id]))
        thresholds[variant_id] = threshold
    return stock_events(changes, thresholds)


def stock_events(
    changes: Sequence[tuple[StockLevel, int]], thresholds: Mapping[int, int]
) -> list[StockEvent]:
    """Events for rows after an operation, each given with its free stock before: back in stock
    when free stock rises from zero, low stock when it falls to the variant's threshold (read
    here when `thresholds` lacks it)."""
    thresholds = dict(thresholds)
    unknown = {level.variant_id for level, before in changes if level.free < before} - set(
        thresholds
    )
    if unknown:
        thresholds.update(
            Variant.objects.filter(pk__in=sorted(unknown)).values_list("pk", "low_stock_threshold")
        )
    events = []
    for level, before in changes:
        after = level.free
        if before <= 0 < after:
            kind = StockEventKind.BACK_IN_STOCK
        elif after < before and before > thresholds[level.variant_id] >= after:
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


class LedgerBatch:
    """Changes to locked stock rows, saved at once with their ledger rows and stock events.

    Each `move` changes a row in memory and appends its ledger row, so on-hand and reserved
    always equal the sums of the ledger. Events compare each row before the first and after the
    last change of the operation, so one operation writes at most one event per row.
    """

    def __init__(
        self, *, performed_by: User | None, thresholds: Mapping[int, int] | None = None
    ) -> None:
        self.performed_by = acting_user(performed_by)
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
        events = stock_events(
            [(level, self._free_before[level.pk]) for level in levels], self.thresholds
        )
        if events:
            StockEvent.objects.bulk_create(events)
        return self.movements
