"""Reads of the catalogue and of stock: availability per channel and per store, nearby stores,
low stock. Every function here runs a fixed number of queries, whatever the number of variants
or locations it covers.

Available at a location for a channel = on-hand - reserved - the location's safety stock for that
channel, never below zero. The rule lives once, in `available_expression`, and is evaluated by
PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Exists, F, FilteredRelation, OuterRef, Prefetch, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from inventory.geo import GeoPoint, distance_km
from inventory.models import Location, LocationKind, Product, StockLevel, Variant

# Opening hours are written in the stores' local time.
STORE_TIME_ZONE = ZoneInfo("Europe/Paris")


class Channel(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


def _available(level: str, safety: str) -> Greatest:
    # PostgreSQL's GREATEST ignores NULLs: a missing stock level gives 0.
    return Greatest(
        F(f"{level}on_hand") - F(f"{level}reserved") - F(safety),
        Value(0),
        output_field=models.IntegerField(),
    )


def available_expression(channel: Channel, *, prefix: str = "") -> Greatest:
    """SQL for the units a stock level can promise to `channel` (`prefix` reaches StockLevel)."""
    return _available(prefix, f"{prefix}location__safety_stock_{channel}")


# A location that ships parcels: every warehouse, and the stores that ship from store.
DELIVERY_SOURCE = Q(kind=LocationKind.WAREHOUSE) | Q(kind=LocationKind.STORE, ship_from_store=True)


class LocationQuerySet(models.QuerySet):
    def active(self) -> LocationQuerySet:
        return self.filter(is_active=True)

    def delivery_sources(self) -> LocationQuerySet:
        return self.filter(DELIVERY_SOURCE)

    def pickup_stores(self) -> LocationQuerySet:
        return self.filter(kind=LocationKind.STORE, click_and_collect=True)


class StockLevelQuerySet(models.QuerySet):
    def at_active_locations(self) -> StockLevelQuerySet:
        return self.filter(location__is_active=True)

    def of_variants(self, variant_ids: Iterable[int]) -> StockLevelQuerySet:
        return self.filter(variant_id__in=list(variant_ids))

    def with_available(self) -> StockLevelQuerySet:
        """Annotate `available_pickup` and `available_delivery`."""
        return self.annotate(
            available_pickup=available_expression(Channel.PICKUP),
            available_delivery=available_expression(Channel.DELIVERY),
        )

    def in_stock(self) -> StockLevelQuerySet:
        """Levels with at least one unit neither reserved nor sold."""
        return self.filter(on_hand__gt=F("reserved"))


# The models keep Django's default managers; these give the reads their QuerySet methods.
def locations() -> LocationQuerySet:
    """All locations, as a LocationQuerySet."""
    return LocationQuerySet(model=Location)


def stock_levels() -> StockLevelQuerySet:
    """All stock levels, as a StockLevelQuerySet."""
    return StockLevelQuerySet(model=StockLevel)


# --- Catalogue ---------------------------------------------------------------------------------


def sellable_variants() -> models.QuerySet[Variant]:
    """Variants the shop sells: active, of an active product."""
    return Variant.objects.filter(is_active=True, product__is_active=True)


def variants_by_sku(*, skus: Iterable[str]) -> dict[str, Variant]:
    """The sellable variants among `skus`, by SKU; unknown or withdrawn SKUs are left out."""
    return {
        variant.sku: variant
        for variant in sellable_variants().filter(sku__in=list(skus)).select_related("product")
    }


def catalogue_products() -> models.QuerySet[Product]:
    """Products with their category and their active variants, prefetched in one query."""
    return Product.objects.select_related("category").prefetch_related(
        Prefetch(
            "variants",
            queryset=Variant.objects.filter(is_active=True).order_by("sku"),
            to_attr="active_variants",
        )
    )


def products_in_stock_at(products: models.QuerySet[Product], *, location: Location):
    """`products` narrowed to those with a unit in stock (not reserved) at `location`."""
    stocked = (
        stock_levels()
        .in_stock()
        .filter(location=location, variant__product=OuterRef("pk"), variant__is_active=True)
    )
    return products.filter(Exists(stocked))


# --- Opening hours -----------------------------------------------------------------------------


class Opening(Protocol):
    opening_hours: dict
    pickup_preparation_minutes: int


def _opening_window(location: Opening, day: date) -> tuple[datetime, datetime] | None:
    entry = (location.opening_hours or {}).get(str(day.weekday()))
    if not entry or len(entry) != 2:
        return None
    try:
        opens, closes = (time.fromisoformat(value) for value in entry)
    except (TypeError, ValueError):
        return None  # a malformed day is treated as closed, not as an error for the shopper
    return (
        datetime.combine(day, opens, tzinfo=STORE_TIME_ZONE),
        datetime.combine(day, closes, tzinfo=STORE_TIME_ZONE),
    )


def pickup_ready_at(*, location: Opening, at: datetime) -> datetime | None:
    """When units at `location` on `at` can be collected: `at` plus the preparation time if the
    store is open and that is before closing, else the next opening plus the preparation time.

    None when the store has no opening in the coming week long enough to prepare an order.
    """
    local = at.astimezone(STORE_TIME_ZONE)
    preparation = timedelta(minutes=location.pickup_preparation_minutes)
    for offset in range(8):
        window = _opening_window(location, local.date() + timedelta(days=offset))
        if window is None:
            continue
        opens, closes = window
        ready = max(local, opens) + preparation
        if ready <= closes:
            return ready
    return None


# --- Availability ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreAvailability:
    """A click-and-collect store's offer for one variant."""

    location_id: int
    code: str
    name: str
    city: str
    available: int  # units that can be collected, safety stock for pickup deducted
    ready_at: datetime | None  # when they can be collected (None: nothing to collect)
    ready_today: bool
    transfer_available: int  # when the store has none: units the warehouses can send it
    transfer_ready_at: datetime | None  # when a transfer could be collected


@dataclass(frozen=True)
class VariantAvailability:
    variant_id: int
    sku: str
    delivery: int  # warehouses plus ship-from-store stores, safety stock for delivery deducted
    stores: tuple[StoreAvailability, ...]

    @property
    def pickup_today(self) -> tuple[StoreAvailability, ...]:
        return tuple(store for store in self.stores if store.ready_today)


class _Place(NamedTuple):
    """The fields of an active location that availability reads (no model instances: this is
    the web shop's hottest read)."""

    pk: int
    code: str
    name: str
    city: str
    kind: str
    click_and_collect: bool
    ship_from_store: bool
    opening_hours: dict
    pickup_preparation_minutes: int
    transfer_lead_days: int


def _location_stock_rows(variant_ids: list[int]) -> Iterable[tuple]:
    """Every active location, left-joined with its stock levels of `variant_ids`: one row per
    location and stocked variant, or one row with a null variant where it stocks none."""
    level = FilteredRelation("stock_levels", condition=Q(stock_levels__variant_id__in=variant_ids))
    return (
        locations()
        .active()
        .annotate(level=level)
        .annotate(
            available_pickup=_available("level__", f"safety_stock_{Channel.PICKUP}"),
            available_delivery=_available("level__", f"safety_stock_{Channel.DELIVERY}"),
        )
        .order_by("code")
        .values_list(*_Place._fields, "level__variant_id", "available_pickup", "available_delivery")
    )


def variants_availability(
    *, variants: Sequence[Variant], now: datetime | None = None
) -> list[VariantAvailability]:
    """Delivery, pickup per click-and-collect store and transfer offers for every variant.

    One query whatever the number of variants and locations: the active locations left-joined
    with the stock levels of these variants, availability per channel computed in SQL.
    """
    now = now or timezone.now()
    places: dict[int, _Place] = {}
    pickup: dict[tuple[int, int], int] = {}
    delivery: dict[tuple[int, int], int] = defaultdict(int)
    for row in _location_stock_rows([variant.pk for variant in variants]):
        place = _Place(*row[:-3])
        places.setdefault(place.pk, place)
        variant_id, available_pickup, available_delivery = row[-3:]
        if variant_id is not None:
            pickup[variant_id, place.pk] = available_pickup
            delivery[variant_id, place.pk] = available_delivery

    active = list(places.values())
    sources = [p for p in active if p.kind == LocationKind.WAREHOUSE or p.ship_from_store]
    warehouses = [p for p in active if p.kind == LocationKind.WAREHOUSE]
    stores = [p for p in active if p.kind == LocationKind.STORE and p.click_and_collect]
    return [
        VariantAvailability(
            variant_id=variant.pk,
            sku=variant.sku,
            delivery=sum(delivery[variant.pk, p.pk] for p in sources),
            stores=tuple(
                _store_availability(
                    store,
                    available=pickup.get((variant.pk, store.pk), 0),
                    from_warehouses=sum(delivery[variant.pk, p.pk] for p in warehouses),
                    now=now,
                )
                for store in stores
            ),
        )
        for variant in variants
    ]


def _store_availability(
    store: _Place, *, available: int, from_warehouses: int, now: datetime
) -> StoreAvailability:
    ready_at = pickup_ready_at(location=store, at=now) if available else None
    transfer = from_warehouses if not available else 0
    transfer_ready_at = None
    if transfer:
        arrival = now + timedelta(days=store.transfer_lead_days)
        transfer_ready_at = pickup_ready_at(location=store, at=arrival)
    today = now.astimezone(STORE_TIME_ZONE).date()
    return StoreAvailability(
        location_id=store.pk,
        code=store.code,
        name=store.name,
        city=store.city,
        available=available if ready_at else 0,
        ready_at=ready_at,
        ready_today=ready_at is not None and ready_at.astimezone(STORE_TIME_ZONE).date() == today,
        transfer_available=transfer if transfer_ready_at else 0,
        transfer_ready_at=transfer_ready_at,
    )


def variant_availability(*, variant: Variant, now: datetime | None = None) -> VariantAvailability:
    """Availability of one variant (see `variants_availability`)."""
    return variants_availability(variants=[variant], now=now)[0]


# --- Nearby stores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NearbyStore:
    location_id: int
    code: str
    name: str
    address: str
    city: str
    postal_code: str
    distance_km: float
    available: int  # units on the shelf for the customer, safety stock for pickup deducted
    click_and_collect: bool
    ready_at: datetime | None  # when a click-and-collect order could be collected


def nearest_stores(
    *, variant: Variant, origin: GeoPoint, limit: int = 5, now: datetime | None = None
) -> list[NearbyStore]:
    """The active stores closest to `origin` that have `variant`, nearest first. One query: the
    stores are few, so distances are computed here rather than in SQL."""
    now = now or timezone.now()
    levels = (
        stock_levels()
        .at_active_locations()
        .with_available()
        .filter(
            variant=variant,
            location__kind=LocationKind.STORE,
            location__latitude__isnull=False,
            location__longitude__isnull=False,
            available_pickup__gt=0,
        )
        .select_related("location")
    )
    found = []
    for level in levels:
        store = level.location
        point = GeoPoint(float(store.latitude), float(store.longitude))
        found.append(
            NearbyStore(
                location_id=store.pk,
                code=store.code,
                name=store.name,
                address=store.address,
                city=store.city,
                postal_code=store.postal_code,
                distance_km=round(distance_km(origin, point), 1),
                available=level.available_pickup,
                click_and_collect=store.click_and_collect,
                ready_at=(
                    pickup_ready_at(location=store, at=now) if store.click_and_collect else None
                ),
            )
        )
    found.sort(key=lambda store: (store.distance_km, store.code))
    return found[:limit]


# --- Staff -------------------------------------------------------------------------------------


def low_stock(*, location: Location) -> StockLevelQuerySet:
    """Active variants stocked at `location` whose free units (on-hand - reserved) are at or
    under the variant's low-stock threshold, lowest first, annotated with `free_units`.

    Safety stock is not deducted: it holds units back from a channel, it does not make them
    missing from the shelf, and replenishment is about the shelf.
    """
    return (
        stock_levels()
        .filter(location=location, variant__is_active=True)
        .annotate(free_units=F("on_hand") - F("reserved"))
        .filter(free_units__lte=F("variant__low_stock_threshold"))
        .select_related("variant")
        .order_by("free_units", "variant__sku")
    )
