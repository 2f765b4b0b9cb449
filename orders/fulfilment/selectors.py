"""Reads behind the store's pickup queue and the staff order page, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from inventory.models import Location
from orders.fulfilment import machine
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Order,
    Return,
)

S = FulfilmentStatus
QUEUE_LIMIT = 200  # rows listed per screen; the counts are always exact

_PICKUPS = Q(kind=FulfilmentKind.CLICK_AND_COLLECT, status__in=[*machine.TO_PREPARE, S.READY])
_PARCELS = Q(kind=FulfilmentKind.DELIVERY, status__in=list(machine.TO_SHIP))


@dataclass
class PickupQueue:
    to_prepare: list[Fulfilment] = field(default_factory=list)
    ready: list[Fulfilment] = field(default_factory=list)
    overdue: list[Fulfilment] = field(default_factory=list)
    to_ship: list[Fulfilment] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def pickup_queue(*, store: Location, now: datetime | None = None) -> PickupQueue:
    """The store's pickups to prepare, ready, overdue, and parcels to ship (two queries)."""
    now = now or timezone.now()
    at_store = Fulfilment.objects.filter(location=store)
    ready = Q(kind=FulfilmentKind.CLICK_AND_COLLECT, status=S.READY)
    counts = at_store.aggregate(
        to_prepare=Count(
            "pk", filter=Q(kind=FulfilmentKind.CLICK_AND_COLLECT, status__in=machine.TO_PREPARE)
        ),
        ready=Count("pk", filter=ready & Q(pickup_deadline__gte=now)),
        overdue=Count("pk", filter=ready & Q(pickup_deadline__lt=now)),
        to_ship=Count("pk", filter=_PARCELS),
    )
    rows = (
        at_store.filter(_PICKUPS | _PARCELS)
        .select_related("order__customer")
        .annotate(units=Sum("lines__quantity"))
        .order_by("promised_ready_at", "pickup_deadline", "pk")[:QUEUE_LIMIT]
    )
    queue = PickupQueue(counts=counts)
    for fulfilment in rows:
        if fulfilment.kind == FulfilmentKind.DELIVERY:
            queue.to_ship.append(fulfilment)
        elif fulfilment.status != S.READY:
            queue.to_prepare.append(fulfilment)
        elif fulfilment.pickup_deadline and fulfilment.pickup_deadline < now:
            queue.overdue.append(fulfilment)
        else:
            queue.ready.append(fulfilment)
    return queue


def orders_of_stores(*, store_ids: Sequence[int]) -> QuerySet[Order]:
    """Orders taken at one of the stores, or with a fulfilment served by one of them."""
    ids = list(store_ids)
    touching = Fulfilment.objects.filter(location_id__in=ids).values("order_id")
    return Order.objects.filter(Q(store_id__in=ids) | Q(pk__in=touching))


def order_detail(*, orders: QuerySet[Order], number: str) -> Order | None:
    """One order with everything its staff page shows, prefetched."""
    return (
        orders.filter(number=number)
        .select_related("customer", "store", "placed_by")
        .prefetch_related(
            "lines",
            "payments",
            Prefetch(
                "fulfilments",
                queryset=Fulfilment.objects.select_related(
                    "location", "source_location"
                ).prefetch_related(
                    "lines__order_line",
                    Prefetch(
                        "transitions",
                        queryset=FulfilmentTransition.objects.select_related("performed_by"),
                    ),
                ),
            ),
            Prefetch(
                "returns",
                queryset=Return.objects.select_related("location", "created_by").prefetch_related(
                    "lines__order_line"
                ),
            ),
        )
        .first()
    )
