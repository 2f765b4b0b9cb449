"""The cart view: live availability per line, price changes, a constant number of queries."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.cart.selectors import cart_for_token, cart_view
from orders.exceptions import CartNotFound
from orders.models import CartStatus
from tests.inventory.factories import (
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db

# A Wednesday at 10:00 in Paris: the factory stores are open, pickup is possible today.
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_each_line_shows_delivery_pickup_and_shelf_stock_and_price_changes():
    warehouse = WarehouseFactory(safety_stock_delivery=1)
    store = StoreFactory(safety_stock_pickup=1)
    dress = VariantFactory(price=Decimal("79.00"))
    bag = VariantFactory(price=Decimal("120.00"))
    StockLevelFactory(variant=dress, location=warehouse, on_hand=10, reserved=2)
    StockLevelFactory(variant=dress, location=store, on_hand=3, reserved=1)
    cart = CartFactory()
    CartLineFactory(cart=cart, variant=dress, quantity=2, unit_price_seen=Decimal("89.00"))
    CartLineFactory(cart=cart, variant=bag, quantity=1)

    view = cart_view(cart=cart, store=store, now=NOW)

    assert [
        (
            line.line.variant,
            line.delivery_available,
            line.pickup_available,
            line.shelf_available,
            line.price_changed,
            line.line_total,
        )
        for line in view.lines
    ] == [
        (dress, 7, 1, 2, True, Decimal("158.00")),
        (bag, 0, 0, 0, False, Decimal("120.00")),
    ]
    assert (view.lines[0].deliverable, view.lines[0].in_store) == (True, True)
    assert (view.lines[1].deliverable, view.lines[1].in_store) == (False, False)
    assert (view.total, view.item_count, view.has_price_changes) == (Decimal("278.00"), 3, True)


def test_without_a_store_only_delivery_is_shown():
    line = CartLineFactory()

    view = cart_view(cart=line.cart, now=NOW)

    assert (view.lines[0].pickup_available, view.lines[0].shelf_available) == (None, None)


@pytest.mark.parametrize("count", [1, 30])
def test_the_cart_view_runs_a_constant_number_of_queries(count, django_assert_max_num_queries):
    store, warehouse = StoreFactory(), WarehouseFactory()
    cart = CartFactory()
    for _index in range(count):
        line = CartLineFactory(cart=cart)
        StockLevelFactory(variant=line.variant, location=store, on_hand=2)
        StockLevelFactory(variant=line.variant, location=warehouse, on_hand=5)

    with django_assert_max_num_queries(4):
        view = cart_view(cart=cart, store=store, now=NOW)
        totals = [(line.line.variant.product.name, line.line_total) for line in view.lines]

    assert len(totals) == count
    assert {line.shelf_available for line in view.lines} == {2}


def test_a_token_opens_only_an_active_anonymous_cart():
    anonymous = AnonymousCartFactory()
    merged = AnonymousCartFactory(status=CartStatus.MERGED)
    customers_cart = CartFactory()

    assert cart_for_token(token=anonymous.token) == anonymous
    for token in (merged.token, customers_cart.token, "not-a-token"):
        with pytest.raises(CartNotFound):
            cart_for_token(token=token)
