"""Checkout from the unified cart: every fulfilment type, totals and VAT, bad input writes
nothing, and a query count that does not grow with the cart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Channel
from inventory.exceptions import ServiceNotOffered
from inventory.models import Reservation, StockLevel
from inventory.selectors import pickup_ready_at
from orders.checkout import (
    DeliveryChoice,
    PaymentInfo,
    PickupChoice,
    ShippingAddress,
    StoreSaleChoice,
    pickup_options,
)
from orders.checkout.exceptions import AddressRequired, EmptyCart, OutOfStock, PaymentMismatch
from orders.exceptions import CartNotEditable
from orders.models import (
    CartStatus,
    Fulfilment,
    FulfilmentStatus,
    FulfilmentTransition,
    Notification,
    NotificationKind,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
)
from orders.services import order_checkout
from tests.inventory.factories import (
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


HOME = ShippingAddress(
    name="Léa Dupont",
    line1="12 rue des Lilas",
    postal_code="75011",
    city="Paris",
    phone="+33612345678",
)


def paid(amount: str) -> PaymentInfo:
    return PaymentInfo(
        provider="stripe", reference="pi_1", status="captured", amount=Decimal(amount)
    )


def free(location, variant) -> int:
    level = StockLevel.objects.get(location=location, variant=variant)
    return level.on_hand - level.reserved


def nothing_written(cart) -> None:
    assert not Order.objects.exists()
    assert not Fulfilment.objects.exists()
    assert not Reservation.objects.exists()
    assert not Payment.objects.exists()
    assert not Notification.objects.exists()
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE


@pytest.fixture
def store():
    return StoreFactory(code="PARIS1", name="Omni Rivoli", click_and_collect=True)


@pytest.fixture
def dress():
    return VariantFactory(sku="ROBE-38", price=Decimal("79.90"))


def test_click_and_collect_from_the_shelf(store, dress, django_capture_on_commit_callbacks):
    StockLevelFactory(location=store, variant=dress, on_hand=3)
    cart = CartLineFactory(variant=dress, quantity=2).cart
    before = timezone.now()

    with django_capture_on_commit_callbacks() as callbacks:
        order = order_checkout(
            cart=cart,
            channel=Channel.APP,
            fulfilment=PickupChoice(store=store),
            payment=paid("159.80"),
        )

    order.refresh_from_db()
    assert order.number == f"OM-{order.pk:08d}"
    assert (order.channel, order.status, order.customer_id) == ("app", "placed", cart.customer_id)
    assert (order.subtotal, order.total, order.vat_total) == (
        Decimal("159.80"),
        Decimal("159.80"),
        Decimal("26.63"),
    )
    [fulfilment] = order.fulfilments.all()
    assert (fulfilment.kind, fulfilment.status) == ("click_collect", FulfilmentStatus.RESERVED)
    assert fulfilment.location == store
    assert fulfilment.source_location is None
    assert len(fulfilment.pickup_code) == 6
    assert fulfilment.pickup_code.isdigit()
    earliest = pickup_ready_at(location=store, at=before)
    assert earliest <= fulfilment.promised_ready_at <= earliest + timedelta(minutes=1)
    assert fulfilment.pickup_deadline == fulfilment.promised_ready_at + timedelta(days=7)
    assert [(line.order_line.sku, line.quantity) for line in fulfilment.lines.all()] == [
        ("ROBE-38", 2)
    ]
    assert list(FulfilmentTransition.objects.values_list("from_status", "to_status")) == [
        ("", "reserved")
    ]
    assert free(store, dress) == 1
    assert Reservation.objects.get().reference == fulfilment.reference
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED
    payment = Payment.objects.get()
    assert (payment.order, payment.amount, payment.status) == (order, Decimal("159.80"), "captured")
    assert Notification.objects.get().kind == NotificationKind.ORDER_CONFIRMED
    assert len(callbacks) == 1  # the confirmation leaves after commit


def test_vat_and_totals_are_exact_per_line():
    food = VariantFactory(
        sku="THE-1", price=Decimal("12.99"), product=ProductFactory(vat_rate=Decimal("5.50"))
    )
    dress = VariantFactory(sku="ROBE-1", price=Decimal("49.90"))
    warehouse = WarehouseFactory()
    StockLevelFactory(location=warehouse, variant=food)
    StockLevelFactory(location=warehouse, variant=dress)
    cart = CartFactory()
    CartLineFactory(cart=cart, variant=dress, quantity=3, unit_price_seen=Decimal("39.90"))
    CartLineFactory(cart=cart, variant=food, quantity=1)

    order = order_checkout(
        cart=cart,
        channel=Channel.WEB,
        fulfilment=DeliveryChoice(address=HOME),
        payment=paid("162.69"),
    )

    lines = {line.sku: line for line in OrderLine.objects.filter(order=order)}
    # 149.70 * 20 / 120 = 24.95; 12.99 * 5.5 / 105.5 = 0.677... -> 0.68
    assert (lines["ROBE-1"].unit_price, lines["ROBE-1"].line_total) == (
        Decimal("49.90"),  # today's price, not the one seen
        Decimal("149.70"),
    )
    assert (lines["ROBE-1"].vat_rate, lines["ROBE-1"].vat_amount) == (
        Decimal("20.00"),
        Decimal("24.95"),
    )
    assert lines["THE-1"].vat_amount == Decimal("0.68")
    assert (order.total, order.vat_total) == (Decimal("162.69"), Decimal("25.63"))


def test_split_delivery_from_two_warehouses_and_a_store_is_one_order():
    # Scenario 7: no location has everything.
    north, south = WarehouseFactory(code="WH-N"), WarehouseFactory(code="WH-S")
    shop = StoreFactory(code="LYON", ship_from_store=True, priority=50)
    coat, boots, scarf = (VariantFactory(price=Decimal(p)) for p in ("120.00", "89.00", "25.50"))
    StockLevelFactory(location=north, variant=coat, on_hand=5)
    StockLevelFactory(location=south, variant=boots, on_hand=5)
    StockLevelFactory(location=shop, variant=scarf, on_hand=5)
    cart = CartFactory()
    for variant in (coat, boots, scarf):
        CartLineFactory(cart=cart, variant=variant, quantity=2)

    order = order_checkout(
        cart=cart,
        channel=Channel.WEB,
        fulfilment=DeliveryChoice(address=HOME),
        payment=paid("469.00"),
    )

    assert Order.objects.count() == 1
    assert order.total == Decimal("469.00")
    served = {
        f.location.code: ([line.order_line.variant for line in f.lines.all()], f.status)
        for f in order.fulfilments.all()
    }
    assert served == {
        "WH-N": ([coat], "placed"),
        "WH-S": ([boots], "placed"),
        "LYON": ([scarf], "placed"),
    }
    assert (free(north, coat), free(south, boots), free(shop, scarf)) == (3, 3, 3)
    assert Reservation.objects.filter(expires_at__isnull=True).count() == 3


def test_pickup_missing_at_the_store_is_transferred_from_a_warehouse(store, dress):
    warehouse = WarehouseFactory()
    StockLevelFactory(location=warehouse, variant=dress, on_hand=4)
    cart = CartLineFactory(variant=dress, quantity=2).cart
    before = timezone.now()

    order = order_checkout(
        cart=cart, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
    )

    [fulfilment] = order.fulfilments.all()
    assert fulfilment.status == FulfilmentStatus.AWAITING_TRANSFER
    assert (fulfilment.location, fulfilment.source_location) == (store, warehouse)
    after_transfer = pickup_ready_at(location=store, at=before + timedelta(days=2))
    assert after_transfer <= fulfilment.promised_ready_at <= after_transfer + timedelta(minutes=1)
    assert free(warehouse, dress) == 2


@pytest.mark.parametrize(
    ("quantity", "served_from"), [(2, "the store"), (3, "the warehouse")], ids=["shelf", "transfer"]
)
def test_a_pickup_leaves_the_stores_safety_stock_on_the_shelf(dress, quantity, served_from):
    """The store keeps 2 of its 4 units back for pickups: 2 are promised from its shelf, 3 are
    transferred from the warehouse."""
    store = StoreFactory(code="PARIS2", click_and_collect=True, safety_stock_pickup=2)
    warehouse = WarehouseFactory()
    StockLevelFactory(location=store, variant=dress, on_hand=4)
    StockLevelFactory(location=warehouse, variant=dress, on_hand=5)
    cart = CartLineFactory(variant=dress, quantity=quantity).cart

    order = order_checkout(
        cart=cart, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
    )

    [fulfilment] = order.fulfilments.all()
    source = {"the store": store, "the warehouse": warehouse}[served_from]
    assert (fulfilment.source_location or fulfilment.location) == source
    assert free(source, dress) == {"the store": 2, "the warehouse": 2}[served_from]


def test_sale_at_the_till_takes_the_stock_at_once(store, dress, make_staff):
    StockLevelFactory(location=store, variant=dress, on_hand=2)
    cart = CartLineFactory(variant=dress, quantity=1).cart
    seller = make_staff(None)

    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=paid("79.90"),
        performed_by=seller,
    )

    assert (order.status, order.store, order.placed_by) == (OrderStatus.COMPLETED, store, seller)
    [fulfilment] = order.fulfilments.all()
    assert fulfilment.status == FulfilmentStatus.COMPLETED
    level = StockLevel.objects.get(location=store, variant=dress)
    assert (level.on_hand, level.reserved) == (1, 0)


def test_pickup_options_tell_today_or_after_transfer(store, dress):
    far = StoreFactory(code="LILLE")
    StockLevelFactory(location=store, variant=dress, on_hand=5)
    StockLevelFactory(location=WarehouseFactory(), variant=dress, on_hand=5)
    cart = CartLineFactory(variant=dress, quantity=2).cart

    options = {option.code: option for option in pickup_options(cart=cart)}

    assert set(options) == {"PARIS1", "LILLE"}
    assert options["PARIS1"].needs_transfer is False
    assert options["LILLE"].needs_transfer is True
    assert options["LILLE"].ready_at > options["PARIS1"].ready_at
    assert far.pk == options["LILLE"].location_id


# --- bad input writes nothing ------------------------------------------------------------------


def test_empty_cart_is_refused():
    cart = CartFactory()

    with pytest.raises(EmptyCart):
        order_checkout(
            cart=cart, channel=Channel.WEB, fulfilment=DeliveryChoice(address=HOME), payment=None
        )

    nothing_written(cart)


def test_pickup_at_a_store_without_click_and_collect_is_refused(dress):
    store = StoreFactory(click_and_collect=False)
    StockLevelFactory(location=store, variant=dress)
    cart = CartLineFactory(variant=dress).cart

    with pytest.raises(ServiceNotOffered):
        order_checkout(
            cart=cart, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
        )

    nothing_written(cart)


@pytest.mark.parametrize("choice", ["pickup", "delivery", "sale"])
def test_quantities_above_stock_are_refused(store, dress, choice):
    StockLevelFactory(location=store, variant=dress, on_hand=1)
    StockLevelFactory(location=WarehouseFactory(), variant=dress, on_hand=1)
    cart = CartLineFactory(variant=dress, quantity=3).cart
    fulfilment = {
        "pickup": PickupChoice(store=store),
        "delivery": DeliveryChoice(address=HOME),
        "sale": StoreSaleChoice(store=store),
    }[choice]

    with pytest.raises(OutOfStock) as refused:
        order_checkout(cart=cart, channel=Channel.WEB, fulfilment=fulfilment, payment=None)

    assert refused.value.extra["skus"] == ["ROBE-38"]
    nothing_written(cart)
    assert free(store, dress) == 1


def test_payment_amount_must_be_the_total(store, dress):
    StockLevelFactory(location=store, variant=dress)
    cart = CartLineFactory(variant=dress).cart

    with pytest.raises(PaymentMismatch) as refused:
        order_checkout(
            cart=cart,
            channel=Channel.WEB,
            fulfilment=PickupChoice(store=store),
            payment=paid("79.00"),
        )

    assert "amount" in refused.value.extra["fields"]["payment"]
    nothing_written(cart)


def test_a_cart_is_ordered_once(store, dress):
    StockLevelFactory(location=store, variant=dress)
    cart = CartLineFactory(variant=dress).cart
    order_checkout(
        cart=cart, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
    )

    with pytest.raises(CartNotEditable):
        order_checkout(
            cart=cart, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
        )

    assert Order.objects.count() == 1


def test_checkout_of_her_open_cart_leaves_her_closed_carts_alone(store, dress):
    StockLevelFactory(location=store, variant=dress)
    old = CartLineFactory(variant=dress, cart__status=CartStatus.ABANDONED).cart
    cart = CartLineFactory(variant=dress, cart__customer=old.customer).cart

    order = order_checkout(
        customer=cart.customer,
        channel=Channel.WEB,
        fulfilment=PickupChoice(store=store),
        payment=None,
    )

    assert order.cart_id == cart.pk
    assert order.customer_id == cart.customer_id
    cart.refresh_from_db()
    old.refresh_from_db()
    assert (cart.status, old.status) == (CartStatus.CONVERTED, CartStatus.ABANDONED)


def test_checkout_of_a_customer_without_an_open_cart_is_refused(store, dress):
    StockLevelFactory(location=store, variant=dress)
    cart = CartLineFactory(variant=dress, cart__status=CartStatus.CONVERTED).cart

    with pytest.raises(EmptyCart):
        order_checkout(
            customer=cart.customer,
            channel=Channel.WEB,
            fulfilment=PickupChoice(store=store),
            payment=None,
        )

    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_checkout_takes_a_cart_or_a_customer_not_both(store, dress):
    cart = CartLineFactory(variant=dress).cart
    for given in ({}, {"cart": cart, "customer": cart.customer}):
        with pytest.raises(TypeError):
            order_checkout(
                **given, channel=Channel.WEB, fulfilment=PickupChoice(store=store), payment=None
            )


# --- queries -----------------------------------------------------------------------------------


def _checkout_queries(size: int, choice) -> int:
    warehouse = WarehouseFactory()
    cart = CartFactory()
    for _index in range(size):
        variant = VariantFactory()
        StockLevelFactory(location=choice.store if choice else warehouse, variant=variant)
        CartLineFactory(cart=cart, variant=variant, quantity=2)
    with CaptureQueriesContext(connection) as queries:
        order_checkout(
            cart=cart,
            channel=Channel.WEB,
            fulfilment=choice or DeliveryChoice(address=HOME),
            payment=None,
        )
    return len(queries)


@pytest.mark.parametrize("kind", ["pickup", "delivery", "sale"])
def test_checkout_queries_do_not_grow_with_the_cart(kind):
    counts = []
    for size in (1, 10, 50):
        store = StoreFactory()
        choice = {"pickup": PickupChoice, "sale": StoreSaleChoice}.get(kind)
        counts.append(_checkout_queries(size, choice(store=store) if choice else None))

    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 40, counts


def test_a_home_delivery_needs_an_address_and_keeps_it_on_the_order():
    store = StoreFactory()
    variant = VariantFactory(price=Decimal("20.00"))
    warehouse = WarehouseFactory()
    StockLevelFactory(location=warehouse, variant=variant, on_hand=3)
    cart = CartLineFactory(variant=variant, quantity=1).cart

    with pytest.raises(AddressRequired):
        order_checkout(cart=cart, channel=Channel.WEB, fulfilment=DeliveryChoice(), payment=None)
    assert Order.objects.count() == 0
    assert free(warehouse, variant) == 3

    order = order_checkout(
        cart=cart, channel=Channel.WEB, fulfilment=DeliveryChoice(address=HOME), payment=None
    )
    assert (order.ship_to_name, order.ship_to_line1, order.ship_to_city) == (
        "Léa Dupont",
        "12 rue des Lilas",
        "Paris",
    )
    assert store.pk  # a store exists but does not ship: the warehouse serves the parcel
    assert [f.location for f in order.fulfilments.all()] == [warehouse]
