"""Reads of the unified cart: its lines with live availability and price changes, its trail.

`cart_view` runs a fixed number of queries whatever the number of lines: the lines with their
variants, the availability of all those variants (inventory.selectors, two queries) and, for a
chosen store, the units on its shelf (one query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q, QuerySet

from customers.models import Customer
from inventory.models import Location
from inventory.selectors import stock_levels, variants_availability
from orders.exceptions import CartNotFound
from orders.models import OPEN_STATUSES, Cart, CartEvent, CartLine, CartStatus


@dataclass(frozen=True)
class CartLineView:
    line: CartLine
    current_price: Decimal
    price_changed: bool  # the variant's price is not the one she saw when adding it
    line_total: Decimal  # at the current price
    delivery_available: int  # units the warehouses and ship-from-store stores can send
    pickup_available: int | None  # click-and-collect at the chosen store (None: no store chosen)
    shelf_available: int | None  # on the chosen store's shelf, not reserved (None: no store)

    @property
    def deliverable(self) -> bool:
        return self.delivery_available >= self.line.quantity

    @property
    def in_store(self) -> bool:
        return self.shelf_available is not None and self.shelf_available >= self.line.quantity


@dataclass(frozen=True)
class CartView:
    cart: Cart
    store: Location | None
    lines: tuple[CartLineView, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(line.line.quantity for line in self.lines)

    @property
    def has_price_changes(self) -> bool:
        return any(line.price_changed for line in self.lines)


def cart_for_token(*, token: str) -> Cart:
    """The active anonymous cart with this token.

    Raises:
        CartNotFound: no such token, or the cart is a customer's, merged, ordered or abandoned.
    """
    return _anonymous_cart(token, [CartStatus.ACTIVE])


def cart_to_merge(*, token: str) -> Cart:
    """The anonymous cart with this token that a login may merge: active, or already merged
    (`cart_merge` answers a retry into the same cart with `already_merged`, and refuses one
    merged elsewhere).

    Raises:
        CartNotFound: no such token, or the cart is a customer's, ordered or abandoned.
    """
    return _anonymous_cart(token, [CartStatus.ACTIVE, CartStatus.MERGED])


def _anonymous_cart(token: str, statuses: list[str]) -> Cart:
    cart = Cart.objects.filter(token=token, customer__isnull=True, status__in=statuses).first()
    if cart is None:
        raise CartNotFound()
    return cart


def open_cart_of(*, customer: Customer) -> Cart | None:
    """The customer's one open cart (active or in checkout), if she has one."""
    return Cart.objects.filter(customer=customer, status__in=OPEN_STATUSES).first()


def cart_view(
    *, cart: Cart, store: Location | None = None, now: datetime | None = None
) -> CartView:
    """The cart's lines with live availability for delivery and at `store`, and price changes."""
    lines = list(
        CartLine.objects.filter(cart=cart)
        .select_related("variant__product")
        .order_by("created_at", "pk")
    )
    variants = [line.variant for line in lines]
    availability = {
        entry.variant_id: entry for entry in variants_availability(variants=variants, now=now)
    }
    shelf: dict[int, int] = {}
    if store is not None and lines:
        shelf = dict(
            stock_levels()
            .filter(location=store, variant_id__in=[variant.pk for variant in variants])
            .annotate(free=F("on_hand") - F("reserved"))
            .values_list("variant_id", "free")
        )
    views = []
    for line in lines:
        entry = availability[line.variant_id]
        pickup = None
        if store is not None:
            pickup = next((s.available for s in entry.stores if s.location_id == store.pk), 0)
        views.append(
            CartLineView(
                line=line,
                current_price=line.variant.price,
                price_changed=line.variant.price != line.unit_price_seen,
                line_total=line.variant.price * line.quantity,
                delivery_available=entry.delivery,
                pickup_available=pickup,
                shelf_available=None if store is None else max(shelf.get(line.variant_id, 0), 0),
            )
        )
    return CartView(cart=cart, store=store, lines=tuple(views))


def cart_trail(*, cart: Cart) -> QuerySet[CartEvent]:
    """The cart's channel trail, with that of the carts merged into it, oldest first."""
    return (
        CartEvent.objects.filter(Q(cart=cart) | Q(cart__merged_into=cart))
        .select_related("variant", "performed_by")
        .order_by("at", "pk")
    )
