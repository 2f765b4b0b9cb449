"""The cart API: customer-scoped and anonymous carts, merge at login, isolation, bad input."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.auth import customer_token
from customers.models import Channel
from orders import services
from orders.models import Cart, CartAction, CartEvent, CartLine, CartStatus
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db

MY_CART = "/api/v1/me/cart/"
MY_LINES = "/api/v1/me/cart/lines/"


def client_for(customer, channel=None):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Customer {customer_token(customer=customer)}"}
    if channel:
        headers["HTTP_X_OMNI_CHANNEL"] = channel
    client.credentials(**headers)
    return client


def test_a_customer_adds_changes_and_removes_lines_of_her_cart():
    customer = CustomerFactory()
    dress = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    client = client_for(customer, channel="app")

    added = client.post(MY_LINES, {"sku": "ROBE-38", "quantity": 1})

    assert added.status_code == 201, added.data
    line = added.data["lines"][0]
    assert (line["sku"], line["quantity"], line["unit_price_seen"], line["added_channel"]) == (
        "ROBE-38",
        1,
        "79.90",
        "app",
    )
    assert (added.data["total"], added.data["item_count"]) == ("79.90", 1)
    changed = client.patch(f"{MY_LINES}{line['id']}/", {"quantity": 3})
    assert changed.status_code == 200
    assert changed.data["lines"][0]["quantity"] == 3
    removed = client.delete(f"{MY_LINES}{line['id']}/")
    assert (removed.status_code, removed.data["lines"]) == (200, [])
    cart = Cart.objects.get(customer=customer)
    assert list(
        CartEvent.objects.filter(cart=cart).order_by("pk").values_list("action", "channel")
    ) == [(CartAction.ADD, "app"), (CartAction.CHANGE, "app"), (CartAction.REMOVE, "app")]
    assert CartEvent.objects.filter(cart=cart, by_customer=True, variant=dress).count() == 3


def test_the_cart_shows_availability_at_a_chosen_store_and_price_changes():
    customer = CustomerFactory()
    store = StoreFactory(code="PAR01")
    line = CartLineFactory(cart=CartFactory(customer=customer), unit_price_seen=Decimal("10.00"))
    StockLevelFactory(variant=line.variant, location=store, on_hand=4)

    response = client_for(customer).get(MY_CART, {"store": "PAR01"})

    assert response.status_code == 200
    shown = response.data["lines"][0]
    assert (shown["price_changed"], shown["current_price"], shown["delivery_available"]) == (
        True,
        "49.90",
        0,
    )
    assert response.data["store"] == "PAR01"
    assert response.data["has_price_changes"] is True
    assert client_for(customer).get(MY_CART, {"store": "NOPE"}).status_code == 400


def test_a_customer_never_reaches_another_customers_cart():
    her, other = CustomerFactory(), CustomerFactory()
    other_line = CartLineFactory(cart=CartFactory(customer=other), quantity=2)
    client = client_for(her)

    assert client.get(MY_CART).data["lines"] == []
    assert client.patch(f"{MY_LINES}{other_line.pk}/", {"quantity": 9}).status_code == 404
    assert client.delete(f"{MY_LINES}{other_line.pk}/").status_code == 404
    # A customer cart's token opens nothing on the anonymous endpoints, nor can it be merged.
    token = other_line.cart.token
    assert client.post("/api/v1/me/cart/merge/", {"token": token}).status_code == 404
    assert APIClient().get(f"/api/v1/carts/{token}/").status_code == 404

    other_line.refresh_from_db()
    assert other_line.quantity == 2
    assert other_line.cart.status == CartStatus.ACTIVE
    assert not CartEvent.objects.filter(cart=other_line.cart).exists()


def test_customer_endpoints_need_a_customer_token(admin_user):
    assert APIClient().get(MY_CART).status_code == 401
    staff = APIClient()
    staff.force_authenticate(admin_user)
    assert staff.get(MY_CART).status_code == 403
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Customer 1:forged:signature")
    assert forged.get(MY_CART).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "NOPE", "quantity": 1}, "sku"),
        ({"sku": "OLD", "quantity": 1}, "sku"),
        ({"sku": "OK", "quantity": 0}, "quantity"),
        ({"sku": "OK", "quantity": -2}, "quantity"),
        ({"sku": "OK"}, "quantity"),
    ],
)
def test_bad_lines_are_refused_with_field_messages_and_change_nothing(body, field):
    VariantFactory(sku="OLD", is_active=False)
    VariantFactory(sku="OK")
    customer = CustomerFactory()

    response = client_for(customer).post(MY_LINES, body)

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert list(response.data["fields"]) == [field]
    assert not CartLine.objects.exists()
    assert not CartEvent.objects.exists()


def test_an_unknown_channel_header_is_refused():
    VariantFactory(sku="OK")

    response = client_for(CustomerFactory(), channel="fax").post(
        MY_LINES, {"sku": "OK", "quantity": 1}
    )

    assert response.status_code == 400
    assert list(response.data["fields"]) == ["X-Omni-Channel"]
    assert not CartLine.objects.exists()


def test_a_visitor_builds_an_anonymous_cart_with_its_token():
    VariantFactory(sku="SAC")
    client = APIClient()

    created = client.post("/api/v1/carts/", HTTP_X_OMNI_CHANNEL="web")
    token = created.data["token"]
    added = client.post(f"/api/v1/carts/{token}/lines/", {"sku": "SAC", "quantity": 2})
    line_id = added.data["lines"][0]["id"]
    changed = client.patch(f"/api/v1/carts/{token}/lines/{line_id}/", {"quantity": 1})
    shown = client.get(f"/api/v1/carts/{token}/")

    assert (created.status_code, added.status_code, changed.status_code) == (201, 201, 200)
    assert [(line["sku"], line["quantity"]) for line in shown.data["lines"]] == [("SAC", 1)]
    cart = Cart.objects.get(token=token)
    assert (cart.customer, cart.channel) == (None, Channel.WEB)


def test_an_unknown_token_or_another_carts_line_is_not_found():
    VariantFactory(sku="SAC")
    mine = AnonymousCartFactory()
    other_line = CartLineFactory(cart=AnonymousCartFactory(), quantity=2)
    client = APIClient()

    unknown = client.post("/api/v1/carts/not-a-token/lines/", {"sku": "SAC", "quantity": 1})
    foreign = client.patch(f"/api/v1/carts/{mine.token}/lines/{other_line.pk}/", {"quantity": 5})

    assert (unknown.status_code, unknown.data["code"]) == (404, "not_found")
    assert (foreign.status_code, foreign.data["code"]) == (404, "cart_line_not_found")
    other_line.refresh_from_db()
    assert other_line.quantity == 2
    assert not CartLine.objects.filter(cart=mine).exists()


def test_at_login_the_anonymous_cart_merges_and_the_answer_says_what_was_merged():
    customer = CustomerFactory()
    dress, bag = VariantFactory(sku="ROBE"), VariantFactory(sku="SAC")
    mine = services.cart_for_customer(customer=customer, channel=Channel.APP)
    services.cart_add_line(cart=mine, variant=dress, quantity=1, channel=Channel.APP)
    anonymous = services.cart_create_anonymous(channel=Channel.WEB)
    services.cart_add_line(cart=anonymous, variant=dress, quantity=1, channel=Channel.WEB)
    services.cart_add_line(cart=anonymous, variant=bag, quantity=2, channel=Channel.WEB)

    response = client_for(customer).post("/api/v1/me/cart/merge/", {"token": anonymous.token})

    assert response.status_code == 200, response.data
    assert [(m["sku"], m["quantity"], m["quantity_after"]) for m in response.data["merged"]] == [
        ("ROBE", 1, 2),
        ("SAC", 2, 2),
    ]
    assert [(line["sku"], line["quantity"]) for line in response.data["cart"]["lines"]] == [
        ("ROBE", 2),
        ("SAC", 2),
    ]
    # The visitor's token is spent: it opens nothing any more.
    assert APIClient().get(f"/api/v1/carts/{anonymous.token}/").status_code == 404

    # The site retries the merge (a lost answer): 200, nothing merged again, nothing changed.
    lines_before = sorted(CartLine.objects.values_list("pk", "quantity"))
    retry = client_for(customer).post("/api/v1/me/cart/merge/", {"token": anonymous.token})
    assert retry.status_code == 200, retry.data
    assert (retry.data["already_merged"], retry.data["merged"]) == (True, [])
    assert [(line["sku"], line["quantity"]) for line in retry.data["cart"]["lines"]] == [
        ("ROBE", 2),
        ("SAC", 2),
    ]
    assert sorted(CartLine.objects.values_list("pk", "quantity")) == lines_before

    # Another customer holding the same token gets a refusal, not her cart.
    other = client_for(CustomerFactory()).post("/api/v1/me/cart/merge/", {"token": anonymous.token})
    assert other.status_code == 409, other.data
    assert "lines" not in other.json()


def test_merging_into_a_cart_in_checkout_is_refused():
    customer = CustomerFactory()
    CartFactory(customer=customer, status=CartStatus.CHECKING_OUT)
    anonymous = AnonymousCartFactory()
    CartLineFactory(cart=anonymous)

    response = client_for(customer).post("/api/v1/me/cart/merge/", {"token": anonymous.token})

    assert (response.status_code, response.data["code"]) == (409, "cart_checkout_in_progress")
    anonymous.refresh_from_db()
    assert anonymous.status == CartStatus.ACTIVE


def test_the_cart_endpoints_are_in_the_schema():
    response = APIClient().get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    for path in (
        "/api/v1/me/cart/",
        "/api/v1/me/cart/lines/",
        "/api/v1/me/cart/lines/{line_id}/",
        "/api/v1/me/cart/merge/",
        "/api/v1/carts/",
        "/api/v1/carts/{token}/lines/",
    ):
        assert path in paths


def _cart_state():
    return (
        sorted(Cart.objects.values_list("pk", "status")),
        sorted(CartLine.objects.values_list("pk", "variant_id", "quantity")),
        CartEvent.objects.count(),
    )


def test_an_unknown_store_is_refused_before_any_cart_change_is_written():
    """`?store=` is read with the other inputs: a bad one answers 400 and leaves every cart,
    line and event as it was (it used to be applied, then answered 400)."""
    customer = CustomerFactory()
    VariantFactory(sku="ROBE-38")
    line = CartLineFactory(cart=CartFactory(customer=customer, channel=Channel.WEB), quantity=1)
    visitor = AnonymousCartFactory()
    client = client_for(customer)
    before = _cart_state()

    answers = [
        client.post(f"{MY_LINES}?store=NOPE", {"sku": "ROBE-38", "quantity": 1}),
        client.patch(f"{MY_LINES}{line.pk}/?store=NOPE", {"quantity": 4}),
        client.delete(f"{MY_LINES}{line.pk}/?store=NOPE"),
        client.post("/api/v1/me/cart/merge/?store=NOPE", {"token": visitor.token}),
        APIClient().post("/api/v1/carts/?store=NOPE"),
        APIClient().post(
            f"/api/v1/carts/{visitor.token}/lines/?store=NOPE", {"sku": "ROBE-38", "quantity": 1}
        ),
    ]

    assert [(a.status_code, a.json()["code"], list(a.json()["fields"])) for a in answers] == [
        (400, "invalid", ["store"])
    ] * len(answers)
    assert _cart_state() == before
