"""Reads behind the store staff screens: which stores a user works at, and the stock lookup.

Every function runs a fixed number of queries, whatever the number of stores or variants, so the
lookup that refreshes every few seconds on each tablet stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, Value, When

from inventory import geo
from inventory.availability import free_units, units_available
from inventory.geo import GeoPoint
from inventory.models import Location, LocationKind, StaffProfile, StockLevel, Variant

# How many matching articles the lookup shows, and how many other stores holding stock.
LOOKUP_LIMIT = 20
NEARBY_STORES = 5


@dataclass(frozen=True)
class StaffStores:
    """The stores a user works at, and the one her screens open on."""

    stores: list[Location]
    default: Location | None

    def choose(self, code: str | None) -> Location | None:
        """The store named by `code` (403 if she does not work there), else her default one."""
        if code:
            for store in self.stores:
                if store.code == code:
                    return store
            raise PermissionDenied
        return self.default

    def allows(self, location: Location) -> bool:
        return any(store.pk == location.pk for store in self.stores)


def staff_stores(user) -> StaffStores:
    """Return the stores `user` works at (every active store for a superuser)."""
    if user.is_superuser:
        stores = list(Location.objects.filter(kind=LocationKind.STORE, is_active=True))
        default_id = None
    else:
        profile = StaffProfile.objects.filter(user=user).first()
        if profile is None:
            return StaffStores(stores=[], default=None)
        stores = list(profile.stores.filter(is_active=True))
        default_id = profile.default_store_id
    default = next((store for store in stores if store.pk == default_id), None)
    return StaffStores(stores=stores, default=default or (stores[0] if stores else None))


@dataclass(frozen=True)
class LocationStock:
    location: Location
    on_hand: int
    reserved: int
    distance_km: float | None

    @property
    def available(self) -> int:
        """Units on the shelf nobody holds (no channel's safety stock kept back)."""
        return units_available(free_units(self.on_hand, self.reserved), 0)


@dataclass(frozen=True)
class VariantStock:
    """One article and its stock: this store first, then nearby stores, then warehouses."""

    variant: Variant
    here: LocationStock | None
    nearby: list[LocationStock]
    warehouses: list[LocationStock]

    @property
    def rows(self) -> list[LocationStock]:
        return [*([self.here] if self.here else []), *self.nearby, *self.warehouses]


def find_variants(*, query: str, limit: int = LOOKUP_LIMIT) -> list[Variant]:
    """Variants whose SKU or EAN is `query`, or whose name contains it; exact codes first."""
    query = query.strip()
    if not query:
        return []
    exact = Q(sku__iexact=query) | Q(ean=query)
    matches = (
        Variant.objects.filter(
            exact | Q(sku__istartswith=query) | Q(name__icontains=query),
            is_active=True,
        )
        .select_related("product")
        .annotate(
            exactness=Case(
                When(exact, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("exactness", "sku")
    )
    return list(matches[:limit])


def _distance(origin: Location | None, other: Location) -> float | None:
    """Kilometres between two locations, None where a position is unknown."""
    if origin is None or None in (
        origin.latitude,
        origin.longitude,
        other.latitude,
        other.longitude,
    ):
        return None
    return geo.distance_km(
        GeoPoint(float(origin.latitude), float(origin.longitude)),
        GeoPoint(float(other.latitude), float(other.longitude)),
    )


def stock_lookup(*, variants: list[Variant], store: Location | None) -> list[VariantStock]:
    """Stock of each variant at `store`, at the nearest stores that have some, and in warehouses.

    Two queries whatever the number of variants and locations.
    """
    if not variants:
        return []
    locations = list(Location.objects.filter(is_active=True))
    levels = {
        (row["variant_id"], row["location_id"]): (row["on_hand"], row["reserved"])
        for row in StockLevel.objects.filter(variant__in=[v.pk for v in variants]).values(
            "variant_id", "location_id", "on_hand", "reserved"
        )
    }
    distances = {location.pk: _distance(store, location) for location in locations}

    def by_distance(location: Location) -> tuple[float, str]:
        distance = distances[location.pk]
        return (math.inf if distance is None else distance, location.code)

    locations.sort(key=by_distance)
    results = []
    for variant in variants:
        rows = [
            LocationStock(
                location, *levels.get((variant.pk, location.pk), (0, 0)), distances[location.pk]
            )
            for location in locations
        ]
        here = next((row for row in rows if store and row.location.pk == store.pk), None)
        others = [row for row in rows if row is not here]
        nearby = [row for row in others if row.location.is_store and row.available > 0]
        results.append(
            VariantStock(
                variant=variant,
                here=here,
                nearby=nearby[:NEARBY_STORES],
                warehouses=[row for row in others if not row.location.is_store],
            )
        )
    return results
