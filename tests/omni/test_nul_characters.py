"""A NUL character, which PostgreSQL text cannot hold, anywhere in a request is a clear 400 (found
by tests/omni/test_api_fuzz.py): in a path parameter or a query parameter (the middleware), or in
a body field that names a row (omni.api.LookupField). Never a server error, nothing written."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.auth import customer_token
from omni import roles
from orders.models import CartLine, CheckoutRequest, Order
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(make_staff) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=make_staff(roles.ECOMMERCE_SITE))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def customer() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=CustomerFactory())}")
    client.handler.enforce_csrf_checks = False
    return client


@pytest.mark.parametrize(
    ("caller", "method", "url"),
    [
        ("site", "get", "/api/v1/availability/SKU%0012/"),
        ("site", "get", "/api/v1/products/P%00/"),
        ("site", "get", "/api/v1/availability/?sku=SKU%0012"),
        ("site", "get", "/api/v1/carts/ab%00cd/"),
        ("customer", "get", "/api/v1/me/orders/OM-%0001/"),
        ("customer", "delete", "/api/v1/me/devices/fcm%00token/"),
        ("customer", "get", "/api/v1/me/cart/pickup-options/?postal_code=75%00"),
    ],
)
def test_a_nul_in_the_address_is_a_400(request, caller, method, url):
    response = getattr(request.getfixturevalue(caller), method)(url)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_a_screen_address_is_a_400_too(client, make_staff):
    client.force_login(make_staff(roles.STORE_STAFF, stores=[StoreFactory()]))

    response = client.get("/store/orders/OM-%0001/")

    assert response.status_code == 400


def test_a_nul_in_a_sku_or_a_store_code_is_a_field_error_and_nothing_is_written(customer):
    store = StoreFactory(code="PAR01", click_and_collect=True)
    variant = VariantFactory(sku="SKU-1")
    StockLevelFactory(location=store, variant=variant, on_hand=5)

    line = customer.post(
        "/api/v1/me/cart/lines/", {"sku": "SKU-1\x00", "quantity": 1}, format="json"
    )
    profile = customer.patch("/api/v1/me/", {"preferred_store": "PAR\x0001"}, format="json")
    checkout = customer.post(
        "/api/v1/me/checkout/",
        {
            "fulfilment": {"type": "pickup", "store": "PAR\x0001"},
            "payment": {"provider": "card", "reference": "R1", "status": "captured", "amount": "1"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="nul-store",
    )

    assert (line.status_code, line.json()["fields"]) == (
        400,
        {"sku": ["Null characters are not allowed."]},
    )
    assert (profile.status_code, list(profile.json()["fields"])) == (400, ["preferred_store"])
    assert (checkout.status_code, checkout.json()["fields"]) == (
        400,
        {"fulfilment": {"store": ["Null characters are not allowed."]}},
    )
    assert not CartLine.objects.exists()
    assert not Order.objects.exists()
    assert not CheckoutRequest.objects.exists()
