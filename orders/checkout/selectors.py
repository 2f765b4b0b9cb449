"""Reads for checkout and the customer's orders: pickup options for a cart, her order history."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from customers.models import Customer
from inventory.geo import GeoPoint, distance_km
from inventory.selectors import StoreAvailability, locations, variants_availability
from orders.checkout.types import PickupOption
from orders.models import Cart, CartLine, Fulfilment, FulfilmentLine, Order, Return


def _store_offer(
    offers: list[tuple[StoreAvailability, int]],
) -> tuple[datetime, bool, bool] | None:
    """(ready_at, ready_today, needs_transfer) if the store can hand every line over."""
    moments, today, transfer = [], True, False
    for offer, quantity in offers:
        if offer.available >= quantity and offer.ready_at is not None:
            moments.append(offer.ready_at)
            today = today and offer.ready_today
        elif offer.transfer_available >= quantity and offer.transfer_ready_at is not None:
            moments.append(offer.transfer_ready_at)
            today, transfer = False, True
        else:
            return None
    return max(moments), today, transfer


def pickup_options(
    *, cart: Cart, origin: GeoPoint | None = None, now: datetime | None = None
) -> list[PickupOption]:
    """The click-and-collect stores that can hand the whole cart over, and when: from the shelf
    (perhaps today), or after a transfer from the warehouses. Nearest first given an `origin`,
    otherwise soonest first. Two or three queries whatever the size of the cart."""
    lines = list(CartLine.objects.filter(cart=cart).select_related("variant"))
    if not lines:
        return []
    availability = variants_availability(variants=[line.variant for line in lines], now=now)
    quantities = {line.variant_id: line.quantity for line in lines}
    per_store: dict[int, list[tuple[StoreAvailability, int]]] = {}
    for entry in availability:
        for offer in entry.stores:
            per_store.setdefault(offer.location_id, []).append(
                (offer, quantities[entry.variant_id])
            )
    points = {}
    if origin is not None:
        points = {
            pk: GeoPoint(float(lat), float(lng))
            for pk, lat, lng in locations()
            .filter(pk__in=list(per_store), latitude__isnull=False, longitude__isnull=False)
            .values_list("pk", "latitude", "longitude")
        }
    options = []
    for offers in per_store.values():
        found = _store_offer(offers)
        if found is None:
            continue
        store = offers[0][0]
        point = points.get(store.location_id)
        options.append(
            PickupOption(
                location_id=store.location_id,
                code=store.code,
                name=store.name,
                city=store.city,
                ready_at=found[0],
                ready_today=found[1],
                needs_transfer=found[2],
                distance_km=(
                    round(distance_km(origin, point), 1) if origin is not None and point else None
                ),
            )
        )
    if origin is not None:
        options.sort(key=lambda o: (o.distance_km is None, o.distance_km or 0, o.code))
    else:
        options.sort(key=lambda o: (o.ready_at, o.code))
    return options


def customer_orders(*, customer: Customer) -> QuerySet[Order]:
    """Her orders, newest first, with their fulfilments (for a list: a fixed number of queries)."""
    return (
        Order.objects.filter(customer=customer)
        .prefetch_related(
            Prefetch(
                "fulfilments",
                queryset=Fulfilment.objects.select_related("location").order_by("pk"),
            )
        )
        .order_by("-placed_at", "-pk")
    )


def customer_order(*, customer: Customer, number: str) -> Order | None:
    """One of her orders with everything the tracking view shows, or None."""
    return (
        Order.objects.filter(customer=customer, number=number)
        .prefetch_related(
            "lines",
            Prefetch(
                "fulfilments",
                queryset=Fulfilment.objects.select_related("location").prefetch_related(
                    Prefetch("lines", queryset=FulfilmentLine.objects.select_related("order_line"))
                ),
            ),
            Prefetch("returns", queryset=Return.objects.select_related("location")),
            "returns__lines",
            "payments",
        )
        .first()
    )
