"""Checkouts racing for the same stock rows at several locations (PostgreSQL, real threads).

A split delivery reserves at each of its locations in turn. Two checkouts split across the same
two warehouses, whose allocations name them in opposite orders, would each hold one warehouse's
rows while waiting for the other's: a deadlock, which PostgreSQL breaks by failing one of them.
Checkout reserves in location primary-key order instead, so every racer finishes, and the
conditional stock update never sells a unit twice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from customers.models import Channel
from inventory.models import Reservation, StockLevel
from orders.checkout import (
    DeliveryChoice,
    PaymentInfo,
    PickupChoice,
    ShippingAddress,
)
from orders.checkout.exceptions import EmptyCart, OutOfStock
from orders.exceptions import CartNotEditable
from orders.models import Fulfilment, Order
from orders.services import order_checkout
from tests.concurrency import race
from tests.inventory.factories import (
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3  # one round can miss the window by chance; several in a row rarely do
PER_DIRECTION = 4  # checkouts allocated warehouse A first, and as many B first
SHARED_UNITS = 6  # of each line both directions want: fewer than the racers
HOME = ShippingAddress(
    name="Léa Dupont", line1="12 rue des Lilas", postal_code="75011", city="Paris"
)
PRICE = Decimal("10.00")


def checkout_of(variants: list) -> Callable[[], Order]:
    """A home-delivery checkout of one unit of each variant, by a customer of her own."""
    cart = CartFactory()
    for variant in variants:
        CartLineFactory(cart=cart, variant=variant, quantity=1, unit_price_seen=PRICE)
    payment = PaymentInfo("stripe", f"pi-{cart.pk}", "captured", PRICE * len(variants))

    def job() -> Order:
        return order_checkout(
            cart=cart, channel=Channel.WEB, fulfilment=DeliveryChoice(address=HOME), payment=payment
        )

    return job


def stocked(location, units: int):
    variant = VariantFactory(price=PRICE)
    StockLevelFactory(location=location, variant=variant, on_hand=units)
    return variant


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_split_deliveries_in_opposite_orders_all_finish_without_deadlock_or_oversell(
    round_number,
):
    # Given two warehouses; each holds a line both kinds of basket want (few units) and one of
    # its own. A basket with two lines from A is allocated A first; two from B, B first.
    north = WarehouseFactory(code=f"NORD-{round_number}")
    south = WarehouseFactory(code=f"SUD-{round_number}")
    shared_north, shared_south = stocked(north, SHARED_UNITS), stocked(south, SHARED_UNITS)
    own_north, own_south = stocked(north, 100), stocked(south, 100)
    jobs = [checkout_of([shared_north, own_north, shared_south]) for _ in range(PER_DIRECTION)]
    jobs += [checkout_of([shared_south, own_south, shared_north]) for _ in range(PER_DIRECTION)]

    # When they all check out at once
    results = race(*jobs)

    # Then every one finished: an order, or a clear out-of-stock; no deadlock, nothing else
    orders = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if not isinstance(result, Order)]
    assert all(isinstance(error, OutOfStock) for error in refused), refused
    assert len(orders) == SHARED_UNITS
    assert len(refused) == 2 * PER_DIRECTION - SHARED_UNITS
    # each order is one split delivery from both warehouses
    assert all(
        {f.location_id for f in order.fulfilments.all()} == {north.pk, south.pk} for order in orders
    )
    assert Fulfilment.objects.count() == 2 * SHARED_UNITS
    # and no unit was held twice: the shared lines are exactly used up, the ledger agrees
    for variant, location, held in (
        (shared_north, north, SHARED_UNITS),
        (shared_south, south, SHARED_UNITS),
    ):
        level = StockLevel.objects.get(location=location, variant=variant)
        assert (level.on_hand, level.reserved) == (SHARED_UNITS, held)
        assert Reservation.objects.filter(location=location, variant=variant).count() == held
    own = StockLevel.objects.filter(variant__in=[own_north, own_south])
    assert sum(level.reserved for level in own) == SHARED_UNITS


def test_two_checkouts_of_her_open_cart_at_once_make_one_order():
    # The API checks out "her open cart" (found and closed by one UPDATE): the loser waits for
    # the winner's lock, then is told the cart is no longer editable; nothing else is written.
    store = StoreFactory(click_and_collect=True)
    variant = stocked(store, 10)
    cart = CartFactory()
    CartLineFactory(cart=cart, variant=variant, quantity=1, unit_price_seen=PRICE)
    customer = cart.customer

    def job() -> Order:
        return order_checkout(
            customer=customer,
            channel=Channel.WEB,
            fulfilment=PickupChoice(store=store),
            payment=None,
        )

    for _round in range(ROUNDS):
        results = race(job, job)
        orders = [r for r in results if isinstance(r, Order)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(orders) == 1, results
        assert len(refused) == 1, results
        # Lost the race (waited on the lock) or came after the commit (no open cart any more).
        assert isinstance(refused[0], CartNotEditable | EmptyCart), refused
        assert Order.objects.filter(customer=customer).count() == _round + 1
        cart = CartFactory(customer=customer)
        CartLineFactory(cart=cart, variant=variant, quantity=1, unit_price_seen=PRICE)
    assert Reservation.objects.filter(variant=variant).count() == ROUNDS
