"""Campaign discount codes redeemed by the one checkout: the code comes off the lines (VAT
included), is taken once, and a bad code is a field error that writes nothing; the API too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import DiscountCode
from customers.auth import customer_token
from customers.models import Channel
from inventory.models import StockLevel
from orders.checkout import PaymentInfo, PickupChoice, StoreSaleChoice
from orders.checkout.discounts import discount_quote
from orders.checkout.exceptions import InvalidDiscountCode, OutOfStock
from orders.models import CartStatus, CheckoutRequest, Notification, Order, OrderLine, Payment
from orders.services import order_cancel, order_checkout
from tests.campaigns.discount_helpers import issued_code
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import (
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
)
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(code="PAR01", name="Paris Rivoli", click_and_collect=True)


@pytest.fixture
def dress(store):
    variant = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=variant, on_hand=5)
    return variant


@pytest.fixture
def tea(store):
    variant = VariantFactory(
        sku="THE-1", price=Decimal("12.99"), product=ProductFactory(vat_rate=Decimal("5.50"))
    )
    StockLevelFactory(location=store, variant=variant, on_hand=5)
    return variant


@pytest.fixture
def lea():
    return CustomerFactory(first_name="Léa", email="lea@example.fr")


@pytest.fixture
def cart(lea, dress, tea):
    cart = CartFactory(customer=lea)
    CartLineFactory(cart=cart, variant=dress, quantity=2)
    CartLineFactory(cart=cart, variant=tea, quantity=1)
    return cart


def paid(amount: str, reference: str = "TPE-1") -> PaymentInfo:
    return PaymentInfo(
        provider="card", reference=reference, status="captured", amount=Decimal(amount)
    )


def at_the_till(cart, store, amount: str, code: str) -> Order:
    return order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=paid(amount),
        discount_code=code,
    )


def test_a_code_comes_off_every_line_with_its_vat_and_is_redeemed_with_the_order(cart, store, lea):
    code = issued_code(lea, percent="10")

    order = at_the_till(cart, store, "155.51", code.code)

    order.refresh_from_db()
    lines = {line.sku: line for line in OrderLine.objects.filter(order=order)}
    # 159.80 - 15.98 = 143.82, VAT 143.82 x 20/120 = 23.97; 12.99 - 1.30 = 11.69, VAT 0.61
    assert (lines["ROBE-38"].unit_price, lines["ROBE-38"].discount_amount) == (
        Decimal("79.90"),
        Decimal("15.98"),
    )
    assert (lines["ROBE-38"].line_total, lines["ROBE-38"].vat_amount) == (
        Decimal("143.82"),
        Decimal("23.97"),
    )
    assert (lines["THE-1"].line_total, lines["THE-1"].vat_amount) == (
        Decimal("11.69"),
        Decimal("0.61"),
    )
    assert (order.subtotal, order.code_discount, order.total, order.vat_total) == (
        Decimal("155.51"),
        Decimal("17.28"),
        Decimal("155.51"),
        Decimal("24.58"),
    )
    assert order.discount_total == Decimal("0.00")  # that one is the loyalty points
    assert (order.discount_code, order.discount_label) == (code.code, f"{code.campaign.name}: -10%")
    code.refresh_from_db()
    assert code.redeemed_order == order
    assert code.redeemed_at is not None
    assert code.redeemed_at <= order.placed_at


def test_a_code_is_typed_in_any_case_with_spaces(cart, store, lea):
    issued_code(lea, code="OMABCDE12345")

    order = at_the_till(cart, store, "155.51", "  omabc de12345 ")

    assert order.discount_code == "OMABCDE12345"


def test_a_walk_in_sale_at_the_till_may_use_the_code_she_shows(store, dress, lea):
    code = issued_code(lea, percent="20")
    cart = AnonymousCartFactory()
    CartLineFactory(cart=cart, variant=dress, quantity=1)

    order = at_the_till(cart, store, "63.92", code.code)

    assert (order.customer_id, order.total, order.code_discount) == (
        None,
        Decimal("63.92"),
        Decimal("15.98"),
    )
    code.refresh_from_db()
    assert code.redeemed_order == order


def used(code: DiscountCode) -> DiscountCode:
    DiscountCode.objects.filter(pk=code.pk).update(redeemed_at=timezone.now())
    return code


BAD_CODES = {
    "unknown": (lambda lea: "OMNOSUCHCODE", "This discount code does not exist."),
    "expired": (
        lambda lea: issued_code(lea, valid_days=-1).code,
        "This discount code has expired.",
    ),
    "another customer's": (
        lambda lea: issued_code(CustomerFactory()).code,
        "This discount code belongs to another customer.",
    ),
    "already used": (
        lambda lea: used(issued_code(lea)).code,
        "This discount code has already been used.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CODES))
def test_a_bad_code_is_a_field_error_and_nothing_is_written(case, cart, store, lea, dress):
    make, message = BAD_CODES[case]
    code = make(lea)
    before = {row.pk: row.redeemed_at for row in DiscountCode.objects.all()}

    with pytest.raises(InvalidDiscountCode) as refused:
        at_the_till(cart, store, "155.51", code)

    assert refused.value.status_code == 400
    assert refused.value.detail == message
    assert refused.value.extra["fields"] == {"discount_code": [message]}
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not Notification.objects.exists()
    assert StockLevel.objects.get(location=store, variant=dress).on_hand == 5
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE
    assert {row.pk: row.redeemed_at for row in DiscountCode.objects.all()} == before


def test_a_checkout_that_fails_after_taking_the_code_gives_it_back(store, dress, lea):
    code = issued_code(lea)
    cart = CartFactory(customer=lea)
    CartLineFactory(cart=cart, variant=dress, quantity=6)  # 5 on the shelf

    with pytest.raises(OutOfStock):
        order_checkout(
            cart=cart,
            channel=Channel.APP,
            fulfilment=PickupChoice(store=store),
            payment=None,
            discount_code=code.code,
        )

    code.refresh_from_db()
    assert (code.redeemed_at, code.redeemed_order) == (None, None)
    assert not Order.objects.exists()


def test_a_quote_shows_the_discount_without_taking_the_code(lea):
    code = issued_code(lea, percent="15")

    discount = discount_quote(
        code=code.code, customer=lea, subtotal=Decimal("100.00"), at=timezone.now()
    )

    assert (discount.percent, discount.code) == (Decimal("15"), code.code)
    code.refresh_from_db()
    assert code.redeemed_at is None


def test_a_code_valid_until_now_is_expired(lea):
    code = issued_code(lea)

    with pytest.raises(InvalidDiscountCode, match="expired"):
        discount_quote(
            code=code.code,
            customer=lea,
            subtotal=Decimal("10.00"),
            at=code.valid_until + dt.timedelta(microseconds=1),
        )


# --- API -----------------------------------------------------------------------------------------

CHECKOUT = "/api/v1/me/checkout/"


def client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}")
    return client


def pickup_body(amount: str, **extra) -> dict:
    return {
        "fulfilment": {"type": "pickup", "store": "PAR01"},
        "payment": {
            "provider": "stripe",
            "reference": "pi_1",
            "status": "authorised",
            "amount": amount,
        },
        **extra,
    }


def test_api_checkout_with_a_code_then_the_order_shows_the_discount(cart, lea):
    code = issued_code(lea, percent="10")
    client = client_for(lea)

    placed = client.post(
        CHECKOUT,
        pickup_body("155.51", discount_code=code.code),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert placed.status_code == 201, placed.data
    assert placed.data["discount"] == {
        "code": code.code,
        "label": f"{code.campaign.name}: -10%",
        "amount": "17.28",
    }
    assert (placed.data["subtotal"], placed.data["total"], placed.data["vat_total"]) == (
        "155.51",
        "155.51",
        "24.58",
    )
    lines = {line["sku"]: line for line in placed.data["lines"]}
    assert (lines["ROBE-38"]["line_total"], lines["ROBE-38"]["discount_amount"]) == (
        "143.82",
        "15.98",
    )
    detail = client.get(f"/api/v1/me/orders/{placed.data['number']}/")
    assert detail.data["discount"] == placed.data["discount"]
    code.refresh_from_db()
    assert code.redeemed_order.number == placed.data["number"]


def test_api_order_without_a_code_has_no_discount(cart, lea):
    placed = client_for(lea).post(
        CHECKOUT, pickup_body("172.79"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert placed.status_code == 201, placed.data
    assert placed.data["discount"] is None


def test_api_refuses_a_used_code_on_its_field_and_writes_nothing(cart, lea):
    code = used(issued_code(lea))

    refused = client_for(lea).post(
        CHECKOUT,
        pickup_body("155.51", discount_code=code.code),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    assert refused.status_code == 400
    assert refused.data["code"] == "invalid_discount_code"
    assert refused.data["fields"] == {
        "discount_code": ["This discount code has already been used."]
    }
    assert not Order.objects.exists()
    assert not CheckoutRequest.objects.exists()
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE


def test_the_schema_documents_the_discount_code(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    components = schema["components"]["schemas"]
    request = next(
        body
        for name, body in components.items()
        if name.startswith("Checkout") and "discount_code" in body.get("properties", {})
    )
    assert request["properties"]["discount_code"]["type"] == "string"
    assert "discount_code" not in request.get("required", [])
    assert set(components["DiscountOutput"]["properties"]) == {"code", "label", "amount"}
    assert "discount" in components["OrderOutput"]["properties"]


def test_a_cancelled_order_gives_its_code_back_for_another_order(store, dress, lea):
    code = issued_code(lea)
    cart = CartFactory(customer=lea)
    CartLineFactory(cart=cart, variant=dress, quantity=1)
    order = order_checkout(
        cart=cart,
        channel=Channel.APP,
        fulfilment=PickupChoice(store=store),
        payment=None,
        discount_code=code.code,
    )

    order_cancel(order=order, reason="changed her mind")

    code.refresh_from_db()
    assert (code.redeemed_at, code.redeemed_order) == (None, None)
    order.refresh_from_db()
    assert order.discount_code == code.code  # the cancelled order still says what it used
    again = CartFactory(customer=lea)
    CartLineFactory(cart=again, variant=dress, quantity=1)
    second = order_checkout(
        cart=again,
        channel=Channel.APP,
        fulfilment=PickupChoice(store=store),
        payment=None,
        discount_code=code.code,
    )
    code.refresh_from_db()
    assert code.redeemed_order == second
