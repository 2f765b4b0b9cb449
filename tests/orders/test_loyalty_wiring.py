"""Loyalty through the orders: points earned on every channel under one rule set, spent at
checkout online and at the till, reversed on a return and on a cancelled or expired order.

Rules as configured by default: 1 point per euro paid (rounded down), a point is worth 0.05 EUR.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.auth import customer_token
from customers.loyalty import InsufficientPoints, loyalty_summary
from customers.models import Channel
from customers.models_loyalty import LoyaltyAccount, LoyaltyMovement
from customers.services import loyalty_adjust
from inventory.models import Reservation, StockLevel
from omni import roles
from orders.checkout import (
    DeliveryChoice,
    PaymentInfo,
    PickupChoice,
    ShippingAddress,
    StoreSaleChoice,
)
from orders.checkout.exceptions import PaymentMismatch, PointsExceedTotal, PointsNeedCustomer
from orders.fulfilment.exceptions import RefundTooHigh
from orders.models import CartStatus, Order, OrderStatus, Payment, Return
from orders.services import (
    fulfilment_cancel,
    order_cancel,
    order_checkout,
    pickup_mark_ready,
    pickups_expire_overdue,
    return_create,
)
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import (
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db

HOME = ShippingAddress(
    name="Léa Dupont", line1="12 rue des Lilas", postal_code="75011", city="Paris"
)


def paid(amount: str, reference: str = "pi_1") -> PaymentInfo:
    return PaymentInfo(
        provider="stripe", reference=reference, status="captured", amount=Decimal(amount)
    )


def ledger(customer) -> list[tuple[str, int, str, str]]:
    """(kind, points, reference, channel) of her movements, oldest first."""
    return list(
        LoyaltyMovement.objects.filter(account__customer=customer)
        .order_by("pk")
        .values_list("kind", "points", "reference", "channel")
    )


def balance(customer) -> int:
    return loyalty_summary(customer=customer).balance


@pytest.fixture
def store():
    return StoreFactory(code="PARIS1", name="Omni Rivoli", click_and_collect=True)


@pytest.fixture
def dress(store):
    variant = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=variant, on_hand=5)
    StockLevelFactory(location=WarehouseFactory(), variant=variant, on_hand=5)
    return variant


@pytest.fixture
def lea():
    customer = CustomerFactory(email="lea@example.fr")
    loyalty_adjust(customer=customer, points=500, reason="welcome gift", performed_by=None)
    return customer


def cart_of(customer, variant, quantity=1):
    return CartLineFactory(
        cart=CartFactory(customer=customer), variant=variant, quantity=quantity
    ).cart


# --- earn and spend on every channel -----------------------------------------------------------


def test_web_delivery_spends_points_as_a_discount_and_earns_on_what_she_paid(lea, dress):
    cart = cart_of(lea, dress, quantity=2)  # 159.80

    order = order_checkout(
        cart=cart,
        channel=Channel.WEB,
        fulfilment=DeliveryChoice(address=HOME, shipping_total=Decimal("4.90")),
        payment=paid("149.70"),  # 159.80 + 4.90 - 300 points (15.00)
        loyalty_points=300,
    )

    order.refresh_from_db()
    assert (order.subtotal, order.shipping_total, order.discount_total, order.total) == (
        Decimal("159.80"),
        Decimal("4.90"),
        Decimal("15.00"),
        Decimal("149.70"),
    )
    assert ledger(lea)[1:] == [
        ("spend", -300, order.number, "web"),
        ("earn", 149, order.number, "web"),
    ]
    assert balance(lea) == 500 - 300 + 149


def test_app_pickup_earns_and_a_cancel_gives_everything_back(lea, dress, store):
    cart = cart_of(lea, dress)
    order = order_checkout(
        cart=cart,
        channel=Channel.APP,
        fulfilment=PickupChoice(store=store),
        payment=paid("74.90"),
        loyalty_points=100,
    )
    assert balance(lea) == 500 - 100 + 74

    order_cancel(order=order, reason="changed her mind")

    assert ledger(lea)[1:] == [
        ("spend", -100, order.number, "app"),
        ("earn", 74, order.number, "app"),
        ("reverse_earn", -74, order.number, "app"),
        ("reverse_spend", 100, order.number, "app"),
    ]
    assert balance(lea) == 500
    order_cancel(order=order)  # again: nothing more
    assert balance(lea) == 500
    assert len(ledger(lea)) == 5


def test_cancelling_the_last_fulfilment_of_an_order_gives_everything_back(lea, dress, store):
    cart = cart_of(lea, dress)
    order = order_checkout(
        cart=cart,
        channel=Channel.APP,
        fulfilment=PickupChoice(store=store),
        payment=paid("74.90"),
        loyalty_points=100,
    )

    fulfilment_cancel(fulfilment=order.fulfilments.get(), reason="out of her size")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert balance(lea) == 500
    assert [kind for kind, *_rest in ledger(lea)[1:]] == [
        "spend",
        "earn",
        "reverse_earn",
        "reverse_spend",
    ]


def test_till_sale_spends_and_earns_and_a_return_takes_back_the_refunded_share(
    lea, dress, store, make_staff
):
    seller = make_staff(roles.STORE_STAFF, stores=[store])
    cart = cart_of(lea, dress, quantity=2)
    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=paid("139.80"),  # 159.80 - 400 points (20.00)
        performed_by=seller,
        loyalty_points=400,
    )
    assert order.total == Decimal("139.80")
    assert balance(lea) == 500 - 400 + 139

    returned = return_create(
        order=order,
        location=store,
        lines=[(order.lines.get().pk, 1)],
        reason="too small",
        refund_amount=Decimal("69.90"),  # half of what she paid
        performed_by=seller,
    )

    # 139 points times 69.90 / 139.80, rounded down; the 400 points spent paid half of the
    # returned dress's share: 200 come back.
    assert ledger(lea)[-2:] == [
        ("reverse_earn", -69, order.number, "store"),
        ("reverse_spend", 200, order.number, "store"),
    ]
    assert LoyaltyMovement.objects.get(kind="reverse_earn").key == (
        f"{order.number}-R{returned.pk}"
    )
    assert LoyaltyMovement.objects.get(kind="earn").performed_by == seller
    assert balance(lea) == 500 - 400 + 139 - 69 + 200


def test_a_return_refunds_in_money_what_was_paid_in_money_and_in_points_the_points(
    lea, dress, store, make_staff
):
    seller = make_staff(roles.STORE_STAFF, stores=[store])
    order = order_checkout(
        cart=cart_of(lea, dress, quantity=2),  # 159.80
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=paid("139.80"),  # 400 points paid 20.00
        performed_by=seller,
        loyalty_points=400,
    )
    line = order.lines.get()

    def give_back(amount: str):
        return return_create(
            order=order,
            location=store,
            lines=[(line.pk, 1)],
            reason="too small",
            refund_amount=Decimal(amount),
            performed_by=seller,
        )

    with pytest.raises(RefundTooHigh) as refused:
        give_back("79.90")  # the dress's price: 10.00 of it was paid in points
    assert refused.value.extra["maximum"] == "69.90"
    give_back("69.90")
    give_back("69.90")  # the second dress: everything she paid, in money and in points, is back

    assert sum(r.refund_amount for r in Return.objects.filter(order=order)) == order.total
    spent_back = LoyaltyMovement.objects.filter(kind="reverse_spend")
    assert [m.points for m in spent_back.order_by("pk")] == [200, 200]
    assert balance(lea) == 500  # earned points taken back, spent points given back


def test_one_rule_set_whatever_the_channel(dress, store):
    earned = {}
    for channel, choice in (
        (Channel.WEB, DeliveryChoice(address=HOME)),
        (Channel.APP, PickupChoice(store=store)),
        (Channel.STORE, StoreSaleChoice(store=store)),
        (Channel.PHONE, DeliveryChoice(address=HOME)),
    ):
        customer = CustomerFactory()
        order_checkout(
            cart=cart_of(customer, dress), channel=channel, fulfilment=choice, payment=None
        )
        earned[channel] = ledger(customer)

    assert {channel: rows[0][:2] for channel, rows in earned.items()} == {
        Channel.WEB: ("earn", 79),
        Channel.APP: ("earn", 79),
        Channel.STORE: ("earn", 79),
        Channel.PHONE: ("earn", 79),
    }
    assert [rows[0][3] for rows in earned.values()] == ["web", "app", "store", "phone"]


def test_a_walk_in_sale_earns_nothing(dress, store):
    cart = AnonymousCartFactory()
    CartLineFactory(cart=cart, variant=dress)

    order_checkout(
        cart=cart, channel=Channel.STORE, fulfilment=StoreSaleChoice(store=store), payment=None
    )

    assert not LoyaltyAccount.objects.exists()


def test_an_expired_pickup_gives_the_points_back(lea, dress, store, make_staff):
    order = order_checkout(
        cart=cart_of(lea, dress),
        channel=Channel.WEB,
        fulfilment=PickupChoice(store=store),
        payment=paid("69.90"),
        loyalty_points=200,
    )
    pickup_mark_ready(fulfilment=order.fulfilments.get(), performed_by=make_staff(None))

    assert pickups_expire_overdue(now=timezone.now() + timedelta(days=8)) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert [row[:2] for row in ledger(lea)[3:]] == [("reverse_earn", -69), ("reverse_spend", 200)]
    assert balance(lea) == 500


# --- refused spending writes nothing -----------------------------------------------------------


def nothing_written(cart, customer_balance: int, customer) -> None:
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not Reservation.objects.exists()
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE
    assert balance(customer) == customer_balance
    assert [row[0] for row in ledger(customer)] == ["adjust"]


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.STORE])
def test_spending_more_points_than_she_holds_writes_nothing(lea, dress, store, channel):
    cart = cart_of(lea, dress)
    choice = PickupChoice(store=store) if channel == Channel.WEB else StoreSaleChoice(store=store)

    with pytest.raises(InsufficientPoints) as refused:
        order_checkout(
            cart=cart,
            channel=channel,
            fulfilment=choice,
            payment=paid("54.85"),  # 79.90 - 501 points (25.05)
            loyalty_points=500 + 1,
        )

    assert refused.value.extra == {"balance": 500, "requested": 501}
    nothing_written(cart, 500, lea)
    level = StockLevel.objects.get(location=store, variant=dress)
    assert (level.on_hand, level.reserved) == (5, 0)


def test_points_worth_more_than_the_order_are_refused(dress, store):
    customer = CustomerFactory()
    loyalty_adjust(customer=customer, points=5000, reason="goodwill", performed_by=None)
    cart = cart_of(customer, dress)

    with pytest.raises(PointsExceedTotal):
        order_checkout(
            cart=cart,
            channel=Channel.WEB,
            fulfilment=PickupChoice(store=store),
            payment=None,
            loyalty_points=1599,  # 79.95 > 79.90
        )

    nothing_written(cart, 5000, customer)


def test_points_on_a_walk_in_sale_and_a_payment_ignoring_them_are_refused(lea, dress, store):
    anonymous = AnonymousCartFactory()
    CartLineFactory(cart=anonymous, variant=dress)
    with pytest.raises(PointsNeedCustomer):
        order_checkout(
            cart=anonymous,
            channel=Channel.STORE,
            fulfilment=StoreSaleChoice(store=store),
            payment=None,
            loyalty_points=10,
        )
    cart = cart_of(lea, dress)
    with pytest.raises(PaymentMismatch):
        order_checkout(
            cart=cart,
            channel=Channel.WEB,
            fulfilment=PickupChoice(store=store),
            payment=paid("79.90"),  # the full price: the 100 points were forgotten
            loyalty_points=100,
        )

    nothing_written(cart, 500, lea)


# --- API and till screen -----------------------------------------------------------------------


def test_the_checkout_api_takes_points_and_refuses_too_many(lea, dress, store):
    from rest_framework.test import APIClient

    cart_of(lea, dress)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=lea)}")

    def checkout(points: int, amount: str, key: str):
        payload = {
            "fulfilment": {"type": "pickup", "store": "PARIS1"},
            "payment": {
                "provider": "stripe",
                "reference": key,
                "status": "authorised",
                "amount": amount,
            },
            "loyalty_points": points,
        }
        return client.post("/api/v1/me/checkout/", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)

    refused = checkout(501, "54.85", "k1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_points"
    assert not Order.objects.exists()

    placed = checkout(200, "69.90", "k2")
    assert placed.status_code == 201, placed.json()
    assert (placed.json()["discount_total"], placed.json()["total"]) == ("10.00", "69.90")
    assert balance(lea) == 500 - 200 + 69


def test_the_till_takes_points(client, lea, dress, store, make_staff):
    client.force_login(make_staff(roles.STORE_STAFF, stores=[store]))
    cart = cart_of(lea, dress)

    response = client.post(
        f"{reverse('orders:till-pay', kwargs={'cart_id': cart.pk})}?store=PARIS1",
        {"provider": "card", "reference": "TPE-1", "amount": "64.90", "loyalty_points": "300"},
    )

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.discount_total, order.total) == (
        "store",
        Decimal("15.00"),
        Decimal("64.90"),
    )
    assert balance(lea) == 500 - 300 + 64


# --- queries -----------------------------------------------------------------------------------


def test_checkout_with_points_queries_do_not_grow_with_the_cart(store):
    counts = []
    for size in (1, 10, 50):
        customer = CustomerFactory()
        loyalty_adjust(customer=customer, points=100, reason="gift", performed_by=None)
        cart = CartFactory(customer=customer)
        for _index in range(size):
            variant = VariantFactory(price=Decimal("10.00"))
            StockLevelFactory(location=store, variant=variant)
            CartLineFactory(cart=cart, variant=variant)
        with CaptureQueriesContext(connection) as queries:
            order_checkout(
                cart=cart,
                channel=Channel.WEB,
                fulfilment=PickupChoice(store=store),
                payment=None,
                loyalty_points=100,
            )
        counts.append(len(queries))

    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 40, counts
