"""Which locations serve a home-delivery order, and in what order: a pluggable strategy.

`get_strategy()` returns the one named by the `OMNI_ALLOCATION_STRATEGY` setting (a dotted path,
default `FewestFulfilmentsStrategy`). A strategy only proposes: the orders app then reserves each
fulfilment through `inventory.services`, which is where stock is checked under a lock. Reading
stock costs two queries (candidates and their stock levels) whatever the size of the order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from inventory.models import Location
from inventory.selectors import locations, stock_levels
from inventory.services import StockLine

DEFAULT_STRATEGY = "inventory.allocation.FewestFulfilmentsStrategy"

# location id -> variant id -> units available for delivery there
StockMap = dict[int, dict[int, int]]


@dataclass(frozen=True)
class Fulfilment:
    """The lines one location ships."""

    location: Location
    lines: tuple[StockLine, ...]


@dataclass(frozen=True)
class Allocation:
    fulfilments: tuple[Fulfilment, ...]
    unallocated: tuple[StockLine, ...]  # what no candidate can ship (the missing quantity)

    @property
    def is_complete(self) -> bool:
        return not self.unallocated


class AllocationStrategy(ABC):
    """Splits an order's lines between candidate locations."""

    def allocate(
        self, *, lines: Sequence[StockLine], candidates: Iterable[Location] | None = None
    ) -> Allocation:
        """Propose fulfilments for `lines` among `candidates` (default: every active warehouse
        and ship-from-store store), using each one's stock available for delivery."""
        wanted = _merge(lines)
        pool = (
            list(candidates)
            if candidates is not None
            else list(locations().active().delivery_sources())
        )
        stock = _delivery_stock(locations=pool, variant_ids=list(wanted))
        by_location = self.plan(wanted=wanted, locations=pool, stock=stock)
        index = {location.pk: location for location in pool}
        served: Counter[int] = Counter()
        fulfilments = []
        for location_id, taken in by_location.items():
            if taken:
                served.update(taken)
                fulfilments.append(
                    Fulfilment(
                        location=index[location_id],
                        lines=tuple(StockLine(v, qty) for v, qty in taken.items()),
                    )
                )
        unallocated = tuple(
            StockLine(variant_id, quantity - served[variant_id])
            for variant_id, quantity in wanted.items()
            if quantity > served[variant_id]
        )
        return Allocation(fulfilments=tuple(fulfilments), unallocated=unallocated)

    @abstractmethod
    def plan(
        self, *, wanted: dict[int, int], locations: Sequence[Location], stock: StockMap
    ) -> dict[int, dict[int, int]]:
        """Return location id -> variant id -> units, in the order the locations should ship.

        Pure: no queries; `stock` holds every candidate's available units.
        """


class PriorityStrategy(AllocationStrategy):
    """Fill from the locations in their configured priority (lower first), each in turn."""

    def plan(
        self, *, wanted: dict[int, int], locations: Sequence[Location], stock: StockMap
    ) -> dict[int, dict[int, int]]:
        remaining = dict(wanted)
        plan: dict[int, dict[int, int]] = {}
        for location in sorted(locations, key=lambda loc: (loc.priority, loc.code)):
            plan[location.pk] = _take(remaining, stock[location.pk], list(remaining))
        return plan


class FewestFulfilmentsStrategy(AllocationStrategy):
    """As few parcels as possible: one location covering everything if there is one (the one
    with most stock), otherwise the location covering most lines first (ties: most stock,
    then priority); lines no single location covers are split, most stocked location first."""

    def plan(
        self, *, wanted: dict[int, int], locations: Sequence[Location], stock: StockMap
    ) -> dict[int, dict[int, int]]:
        remaining = dict(wanted)
        plan: dict[int, dict[int, int]] = {}
        while remaining:
            best, covered = None, []
            for location in _by_stock(locations, stock, remaining):
                lines = [v for v, qty in remaining.items() if stock[location.pk].get(v, 0) >= qty]
                if len(lines) > len(covered):
                    best, covered = location, lines
            if best is None:
                break
            plan[best.pk] = _take(remaining, stock[best.pk], covered)
        # Split what is left: the locations already shipping first, then the most stocked.
        for variant_id in list(remaining):
            for location in _split_order(locations, stock, plan, variant_id):
                taken = _take(remaining, stock[location.pk], [variant_id])
                if taken:
                    plan.setdefault(location.pk, {}).update(taken)
        return plan


def _by_stock(
    locations: Sequence[Location], stock: StockMap, remaining: dict[int, int]
) -> list[Location]:
    """Most units of the remaining variants first, then priority, then code."""
    return sorted(
        locations,
        key=lambda loc: (
            -sum(stock[loc.pk].get(variant_id, 0) for variant_id in remaining),
            loc.priority,
            loc.code,
        ),
    )


def _split_order(
    locations: Sequence[Location], stock: StockMap, plan: dict[int, dict[int, int]], variant_id: int
) -> list[Location]:
    """Locations already shipping first, then the most units of `variant_id`, then priority."""
    return sorted(
        locations,
        key=lambda loc: (
            loc.pk not in plan,
            -stock[loc.pk].get(variant_id, 0),
            loc.priority,
            loc.code,
        ),
    )


def _take(
    remaining: dict[int, int], available: dict[int, int], variant_ids: list[int]
) -> dict[int, int]:
    """Move up to the wanted units of `variant_ids` out of `available`; return what was taken."""
    taken = {}
    for variant_id in variant_ids:
        units = min(remaining.get(variant_id, 0), available.get(variant_id, 0))
        if units <= 0:
            continue
        taken[variant_id] = units
        available[variant_id] -= units
        remaining[variant_id] -= units
        if not remaining[variant_id]:
            del remaining[variant_id]
    return taken


def _merge(lines: Sequence[StockLine]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for line in lines:
        if line.quantity > 0:
            wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    return wanted


def _delivery_stock(*, locations: Sequence[Location], variant_ids: list[int]) -> StockMap:
    stock: StockMap = {location.pk: {} for location in locations}
    levels = (
        stock_levels()
        .filter(location__in=[location.pk for location in locations])
        .of_variants(variant_ids)
        .with_available()
        .filter(available_delivery__gt=0)
        .values_list("location_id", "variant_id", "available_delivery")
    )
    for location_id, variant_id, available in levels:
        stock[location_id][variant_id] = available
    return stock


def get_strategy() -> AllocationStrategy:
    """The strategy named by settings.OMNI_ALLOCATION_STRATEGY (a dotted path to a class)."""
    path = getattr(settings, "OMNI_ALLOCATION_STRATEGY", DEFAULT_STRATEGY)
    return import_string(path)()
