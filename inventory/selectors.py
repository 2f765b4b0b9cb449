"""Reads of the catalogue and of stock: availability per channel and per store, nearby stores,
low stock. Every function here runs a fixed number of queries, whatever the number of variants
or locations it covers.

Available at a location for a channel = on-hand - reserved - the location's safety stock for that
channel, never below zero: the rule and its SQL, ORM and Python forms live in
inventory/availability.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Protocol, cast
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

from inventory.availability import (
    Channel,
    available_expression,
    free_expression,
    free_sql,
    units_available,
)
from inventory.geo import GeoPoint, distance_km
from inventory.models import Location, LocationKind, Product, StockLevel, Variant

# Opening hours are written in the stores' local time.
STORE_TIME_ZONE = ZoneInfo("Europe/Paris")


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
        return self.alias(free=free_expression()).filter(free__gt=0)


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


def products_in_stock_at(
    products: models.QuerySet[Product], *, location: Location
) -> models.QuerySet[Product]:
    """`products` narrowed to those with a unit in stock (not reserved) at `location`."""
    stocked = (
        stock_levels()
        .in_stock()
        .filter(location=location, variant__product=OuterRef("pk"), variant__is_active=True)
    )
    return products.filter(Exists(stocked))


# --- Opening hours -----------------------------------------------------------------------------


class Opening(Protocol):
    """What opening hours are read from: a Location, or availability's read-only _Place."""

    @property
    def opening_hours(self) -> dict: ...

    @property
    def pickup_preparation_minutes(self) -> int: ...


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


@dataclass(frozen=True, eq=False, slots=True)
class _Place:
    """The fields of an active location that availability reads (no model instances: this is
    the web shop's hottest read). Compared and hashed by identity: one per version of a row."""

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
    safety_stock_pickup: int
    safety_stock_delivery: int


_PLACE_FIELDS = [field.name for field in fields(_Place)]


def _concrete(name: str) -> models.Field:
    return cast("models.Field", Location._meta.get_field(name))


# On PostgreSQL, availability is one hand-written statement (the ORM cost more to compile the
# query than PostgreSQL took to run it): the free units (on-hand - reserved) of every stock level
# of the variants asked, and a fingerprint of the location table. The active locations themselves
# (names, opening hours, services, safety stock) are kept in this process and come back from the
# database, in the same statement, only when the fingerprint differs from the one kept.
#
# The fingerprint is the list of the location rows' versions, each named by its transaction
# (`xmin`) and its place in the table (`ctid`): every insert, update or delete (admin, service,
# queryset update, another process) replaces a row version by a new one, which a committed
# change stamps with a newer transaction and a change inside the current transaction puts in a
# new place (the one it replaced stays taken until the transaction ends). So a location changed
# in any way shows on the very next request, whichever process serves it.
_FINGERPRINT_AND_PLACES = """
    k.fingerprint,
    CASE WHEN k.fingerprint IS DISTINCT FROM %(known)s THEN (
        SELECT json_agg(json_build_array({place_columns}) ORDER BY l.code)
        FROM {location} l WHERE l.is_active
    ) END,
    s.variant_id, s.location_id, {free}
"""
_FINGERPRINT = """(
    SELECT md5(string_agg(id || ':' || xmin::text || ':' || ctid::text, ',' ORDER BY id))
        AS fingerprint
    FROM {location}
) k"""
_SQL_NAMES = {
    "free": free_sql("s"),
    "location": Location._meta.db_table,
    "level": StockLevel._meta.db_table,
    "variant": Variant._meta.db_table,
    "product": Product._meta.db_table,
    "place_columns": ", ".join(
        # Every name but pk is a concrete field of Location (not a reverse relation).
        f"l.{Location._meta.pk.column if name == 'pk' else _concrete(name).column}"
        for name in _PLACE_FIELDS
    ),
}
_AVAILABILITY_BY_IDS = f"""
    SELECT {_FINGERPRINT_AND_PLACES}
    FROM {_FINGERPRINT} LEFT JOIN {{level}} s ON s.variant_id = ANY(%(ids)s)
""".format(**_SQL_NAMES)
# The same for the sellable variant (see `sellable_variants`) of a SKU, found in the same
# statement: no row when there is none.
_AVAILABILITY_BY_SKU = f"""
    SELECT v.id, v.sku, {_FINGERPRINT_AND_PLACES}
    FROM {{variant}} v JOIN {{product}} p ON p.id = v.product_id
    CROSS JOIN {_FINGERPRINT} LEFT JOIN {{level}} s ON s.variant_id = v.id
    WHERE v.sku = %(sku)s AND v.is_active AND p.is_active
""".format(**_SQL_NAMES)

# Per database alias: (fingerprint, active locations in code order), replaced whole (safe
# between threads).
_PLACES: dict[str, tuple[str | None, tuple[_Place, ...]]] = {}
_NO_PLACES: tuple[str | None, tuple[_Place, ...]] = (None, ())
# Pickup-time rules per store version and minute (see `_ready_at`); bounded. A store's version
# is its row as read, so the rules hold whichever database it was read from.
_READY_RULES: dict[tuple, tuple] = {}
_CACHE_LIMIT = 4096


def _kept_places(
    alias: str,
    kept: tuple[str | None, tuple[_Place, ...]],
    fingerprint: str | None,
    changed: list | None,
) -> tuple[_Place, ...]:
    """The active locations: `kept` (what this process held for database `alias` when it sent
    the query) if the fingerprint is still theirs, else the rows the query sent back, kept from
    now on."""
    if fingerprint == kept[0]:
        return kept[1]
    # No active location at all comes back as NULL, not as an empty list.
    places = tuple(_Place(*row) for row in changed or ())
    _PLACES[alias] = (fingerprint, places)
    return places


def _levels_from_free_units(rows: Iterable[tuple], places: Sequence[_Place]) -> Iterator[tuple]:
    """(variant, location, available for pickup, for delivery) from the query's (variant,
    location, on-hand - reserved) rows; levels at inactive locations are left out. The rule of
    `available_expression`, applied here to the location's safety stock kept in this process."""
    by_pk = {place.pk: place for place in places}
    for variant_id, location_id, free in rows:
        place = by_pk.get(location_id)
        if place is not None:
            yield (
                variant_id,
                location_id,
                units_available(free, place.safety_stock_pickup),
                units_available(free, place.safety_stock_delivery),
            )


_MINUTE = timedelta(minutes=1)
_END_OF_MINUTE = timedelta(seconds=59, microseconds=999_999)
_FIXED, _AFTER_PREPARATION, _EXACT = 0, 1, 2


def _ready_rule(place: _Place, minute: datetime) -> tuple:
    """`pickup_ready_at` over the minute starting at `minute`, as a rule: a fixed answer (the
    next opening, or None), `at` plus the preparation time (the store is open all minute long),
    or "compute it exactly" (an opening or a closing falls inside this minute).

    The rule holds for every instant of the minute: `pickup_ready_at` never decreases while
    `at` moves forward within a day, so equal answers at both ends make it constant, and `at`
    plus the preparation time at both ends of one day means the store is open in between.
    """
    first = pickup_ready_at(location=place, at=minute)
    last = pickup_ready_at(location=place, at=minute + _END_OF_MINUTE)
    start, end = (
        minute.astimezone(STORE_TIME_ZONE),
        (minute + _END_OF_MINUTE).astimezone(STORE_TIME_ZONE),
    )
    if start.date() != end.date():
        return (_EXACT, None)
    if first == last:
        return (_FIXED, first)
    preparation = timedelta(minutes=place.pickup_preparation_minutes)
    if first == start + preparation and last == end + preparation:
        return (_AFTER_PREPARATION, preparation)
    return (_EXACT, None)


def _ready_at(place: _Place, at: datetime) -> datetime | None:
    """`pickup_ready_at(location=place, at=at)`, from a rule computed once per store and
    minute (the web shop asks it for every store on every availability request)."""
    minute = at.replace(second=0, microsecond=0)
    key = (place, minute)
    rule = _READY_RULES.get(key)
    if rule is None:
        if len(_READY_RULES) >= _CACHE_LIMIT:
            _READY_RULES.clear()
        rule = _READY_RULES[key] = _ready_rule(place, minute)
    kind, value = rule
    if kind == _FIXED:
        return value
    if kind == _AFTER_PREPARATION:
        return at.astimezone(STORE_TIME_ZONE) + value
    return pickup_ready_at(location=place, at=at)


def _availability(
    variants: Sequence[tuple[int, str]],
    places: Sequence[_Place],
    levels: Iterable[tuple],
    now: datetime,
) -> list[VariantAvailability]:
    """Assemble availability for `variants` ((pk, sku)) at the active `places` from `levels`
    (variant, location, available for pickup, for delivery)."""
    pickup: dict[tuple[int, int], int] = {}
    delivery: dict[tuple[int, int], int] = defaultdict(int)
    for variant_id, location_id, for_pickup, for_delivery in levels:
        pickup[variant_id, location_id] = for_pickup
        delivery[variant_id, location_id] = for_delivery

    sources = [p.pk for p in places if p.kind == LocationKind.WAREHOUSE or p.ship_from_store]
    warehouses = [p.pk for p in places if p.kind == LocationKind.WAREHOUSE]
    stores = [p for p in places if p.kind == LocationKind.STORE and p.click_and_collect]
    today = now.astimezone(STORE_TIME_ZONE).date()
    return [
        VariantAvailability(
            variant_id=variant_id,
            sku=sku,
            delivery=sum(delivery[variant_id, pk] for pk in sources),
            stores=tuple(
                _store_availability(
                    store,
                    available=pickup.get((variant_id, store.pk), 0),
                    from_warehouses=sum(delivery[variant_id, pk] for pk in warehouses),
                    now=now,
                    today=today,
                )
                for store in stores
            ),
        )
        for variant_id, sku in variants
    ]


def variants_availability(
    *, variants: Sequence[Variant], now: datetime | None = None
) -> list[VariantAvailability]:
    """Delivery, pickup per click-and-collect store and transfer offers for every variant.

    One query whatever the number of variants and locations (see `_AVAILABILITY_BY_IDS`).
    """
    now = now or timezone.now()
    asked = [(variant.pk, variant.sku) for variant in variants]
    variant_ids = [pk for pk, _ in asked]
    kept = _PLACES.get(connection.alias, _NO_PLACES)
    with connection.cursor() as cursor:
        cursor.execute(_AVAILABILITY_BY_IDS, {"ids": variant_ids, "known": kept[0]})
        rows = cursor.fetchall()
    places = _kept_places(connection.alias, kept, rows[0][0], rows[0][1])
    levels = _levels_from_free_units((row[2:] for row in rows if row[2] is not None), places)
    return _availability(asked, places, levels, now)


def variant_availability_by_sku(
    *, sku: str, now: datetime | None = None
) -> VariantAvailability | None:
    """Availability of the sellable variant `sku` (see `variants_availability`), or None when
    there is no such variant: one query, the variant's lookup included."""
    now = now or timezone.now()
    kept = _PLACES.get(connection.alias, _NO_PLACES)
    with connection.cursor() as cursor:
        cursor.execute(_AVAILABILITY_BY_SKU, {"sku": sku, "known": kept[0]})
        rows = cursor.fetchall()
    if not rows:
        return None
    places = _kept_places(connection.alias, kept, rows[0][2], rows[0][3])
    levels = _levels_from_free_units((row[4:] for row in rows if row[4] is not None), places)
    return _availability([rows[0][:2]], places, levels, now)[0]


def _store_availability(
    store: _Place, *, available: int, from_warehouses: int, now: datetime, today: date
) -> StoreAvailability:
    ready_at = _ready_at(store, now) if available else None
    transfer = from_warehouses if not available else 0
    transfer_ready_at = None
    if transfer:
        transfer_ready_at = _ready_at(store, now + timedelta(days=store.transfer_lead_days))
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
        .annotate(free_units=free_expression())
        .filter(free_units__lte=F("variant__low_stock_threshold"))
        .select_related("variant")
        .order_by("free_units", "variant__sku")
    )
