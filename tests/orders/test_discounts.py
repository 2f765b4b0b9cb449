"""The checkout's discount hook seen from orders alone: any registered provider's discount comes
off the lines (an amount spread pro rata, VAT per line), and a return refunds at most what was
actually paid for the units after the discount."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Channel
from orders.checkout import PaymentInfo, StoreSaleChoice
from orders.checkout.discounts import (
    Discount,
    discount_amounts,
    register_discount_provider,
    unregister_discount_provider,
)
from orders.checkout.exceptions import InvalidDiscountCode
from orders.fulfilment.exceptions import RefundTooHigh
from orders.models import Order, OrderLine, Return
from orders.services import order_checkout, return_create, returnable_lines
from tests.inventory.factories import (
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
)
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


class GiftCard:
    """A provider of one code worth a fixed amount, recording what it was asked."""

    name = "test-gift-card"

    def __init__(self) -> None:
        self.redeemed: list[tuple[str, str]] = []

    def _answer(self, *, code, customer, subtotal, at):
        if code != "GIFT10":
            return None
        return Discount(
            code=code, label="Gift card", ref="1", provider=self.name, amount=Decimal("10.00")
        )

    quote = reserve = _answer

    def redeem(self, *, discount, order) -> None:
        self.redeemed.append((discount.code, order.number))


@pytest.fixture
def gift_card():
    provider = register_discount_provider(GiftCard())
    yield provider
    unregister_discount_provider(provider)


@pytest.fixture
def store():
    return StoreFactory(code="PAR01")


@pytest.fixture
def cart(store):
    dress = VariantFactory(sku="ROBE-38", price=Decimal("30.00"))
    tea = VariantFactory(
        sku="THE-1", price=Decimal("10.00"), product=ProductFactory(vat_rate=Decimal("5.50"))
    )
    cart = CartFactory()
    for variant, quantity in ((dress, 2), (tea, 1)):
        StockLevelFactory(location=store, variant=variant, on_hand=5)
        CartLineFactory(cart=cart, variant=variant, quantity=quantity)
    return cart


def sell(cart, store, amount: str, code: str = "") -> Order:
    return order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=PaymentInfo(
            provider="card", reference="TPE-1", status="captured", amount=Decimal(amount)
        ),
        discount_code=code,
    )


def test_an_amount_is_spread_over_the_lines_pro_rata_with_their_vat(gift_card, cart, store):
    order = sell(cart, store, "60.00", "gift10")

    lines = {line.sku: line for line in OrderLine.objects.filter(order=order)}
    # 10.00 over 60.00 + 10.00: 8.57 on the dresses, 1.43 on the tea
    assert (lines["ROBE-38"].discount_amount, lines["ROBE-38"].line_total) == (
        Decimal("8.57"),
        Decimal("51.43"),
    )
    assert lines["ROBE-38"].vat_amount == Decimal("8.57")  # 51.43 x 20 / 120
    assert (lines["THE-1"].line_total, lines["THE-1"].vat_amount) == (
        Decimal("8.57"),
        Decimal("0.45"),  # 8.57 x 5.5 / 105.5
    )
    order.refresh_from_db()
    assert (order.subtotal, order.code_discount, order.total, order.vat_total) == (
        Decimal("60.00"),
        Decimal("10.00"),
        Decimal("60.00"),
        Decimal("9.02"),
    )
    assert gift_card.redeemed == [("GIFT10", order.number)]


def test_amounts_never_exceed_the_lines_and_add_up_to_the_discount():
    discount = Discount(code="X", label="X", ref="1", provider="x", amount=Decimal("50.00"))

    assert discount_amounts([Decimal("10.00"), Decimal("20.00")], discount) == [
        Decimal("10.00"),
        Decimal("20.00"),
    ]
    thirds = discount_amounts([Decimal("1.00")] * 3, replace(discount, amount=Decimal("1.00")))
    assert thirds == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]


def test_a_code_no_provider_knows_is_refused(cart, store):
    with pytest.raises(InvalidDiscountCode) as refused:
        sell(cart, store, "70.00", "NOBODY-KNOWS")

    assert refused.value.extra["fields"] == {
        "discount_code": ["This discount code does not exist."]
    }
    assert not Order.objects.exists()


def test_a_return_refunds_at_most_what_was_paid_after_the_discount(gift_card, cart, store):
    order = sell(cart, store, "60.00", "GIFT10")
    dresses = OrderLine.objects.get(order=order, sku="ROBE-38")

    with pytest.raises(RefundTooHigh) as too_high:
        return_create(
            order=order,
            location=store,
            lines=[(dresses.pk, 1)],
            reason="Too small",
            refund_amount=Decimal("30.00"),  # the catalogue price, not what she paid
        )
    assert too_high.value.extra["maximum"] == "25.72"  # 51.43 / 2, to the cent
    assert not Return.objects.exists()

    taken = return_create(
        order=order,
        location=store,
        lines=[(dresses.pk, 1)],
        reason="Too small",
        refund_amount=Decimal("25.72"),
    )

    assert taken.refund_amount == Decimal("25.72")
    [item] = [item for item in returnable_lines(order=order) if item.line.pk == dresses.pk]
    assert (item.unit_paid, item.returnable) == (Decimal("25.72"), 1)


def test_discounted_units_returned_one_by_one_refund_exactly_the_line(gift_card, cart, store):
    order = sell(cart, store, "60.00", "GIFT10")
    dresses = OrderLine.objects.get(order=order, sku="ROBE-38")
    refund = {"location": store, "lines": [(dresses.pk, 1)], "reason": "Too small"}
    return_create(order=order, refund_amount=Decimal("25.72"), **refund)

    with pytest.raises(RefundTooHigh) as too_high:
        return_create(order=order, refund_amount=Decimal("25.72"), **refund)
    last = return_create(order=order, refund_amount=Decimal("25.71"), **refund)

    assert too_high.value.extra["maximum"] == "25.71"  # 51.43 - 25.72
    assert last.refund_amount + Decimal("25.72") == dresses.line_total


def test_the_admin_shows_the_code_read_only(admin_client, gift_card, cart, store):
    order = sell(cart, store, "60.00", "GIFT10")

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "GIFT10" in content
    assert 'name="discount_code"' not in content
    assert 'name="code_discount"' not in content
