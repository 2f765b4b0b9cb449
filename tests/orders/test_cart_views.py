"""The store screens of the cart, and scenario 2 up to "she sees the cart and her store's stock"."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from customers.auth import customer_token
from customers.models import Channel, ContactChannel
from customers.services import ConsentSource, consent_grant
from omni import roles
from orders.models import Cart, CartAction, CartEvent, CartLine
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def store():
    return StoreFactory(code="PAR01", name="Paris Rivoli")


@pytest.fixture
def vendeur(make_staff, store):
    return make_staff(roles.STORE_STAFF, stores=[store], first_name="Inès")


@pytest.fixture
def staff_client(client, vendeur):
    client.force_login(vendeur)
    return client


def cart_url(customer, name="orders:customer-cart", **kwargs):
    return reverse(name, kwargs={"customer_id": customer.pk, **kwargs})


def test_scenario_2_the_salesperson_sees_the_app_cart_and_the_stock_at_her_store(
    staff_client, store, vendeur
):
    # A customer puts a dress in her cart on her phone...
    customer = CustomerFactory(first_name="Léa")
    dress = VariantFactory(sku="ROBE-LIN-38", name="Robe lin 38", price=Decimal("89.00"))
    StockLevelFactory(variant=dress, location=store, on_hand=2)
    app = APIClient()
    app.credentials(
        HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}",
        HTTP_X_OMNI_CHANNEL="app",
    )
    assert (
        app.post("/api/v1/me/cart/lines/", {"sku": "ROBE-LIN-38", "quantity": 1}).status_code == 201
    )

    # ...then walks into the store: the salesperson opens her cart from the customer page.
    response = staff_client.get(cart_url(customer), **HTMX)

    assert response.status_code == 200
    assert response.templates[0].name == "orders/_cart.html"
    item = response.context["view"].lines[0]
    assert (item.line.variant, item.line.added_channel, item.shelf_available, item.in_store) == (
        dress,
        Channel.APP,
        2,
        True,
    )
    assert response.context["store"] == store
    content = response.content.decode()
    assert "ROBE-LIN-38" in content
    assert "Paris Rivoli" in content
    cart = Cart.objects.get(customer=customer)
    assert list(
        CartEvent.objects.filter(cart=cart)
        .order_by("pk")
        .values_list("action", "channel", "performed_by")
    ) == [(CartAction.ADD, Channel.APP, None), (CartAction.OPEN, Channel.STORE, vendeur.pk)]


def test_the_full_page_links_back_to_the_customer(staff_client):
    customer = CustomerFactory()

    response = staff_client.get(cart_url(customer))

    assert response.status_code == 200
    assert "orders/customer_cart.html" in [t.name for t in response.templates]
    assert reverse("customers:detail", args=[customer.pk]) in response.content.decode()
    assert not Cart.objects.exists()  # looking creates nothing


def test_staff_add_change_and_remove_lines_for_her(staff_client, vendeur):
    customer = CustomerFactory()
    VariantFactory(sku="SAC-01", ean="3100000099999")

    added = staff_client.post(
        cart_url(customer, "orders:customer-cart-add"), {"sku": "3100000099999", "quantity": 2}
    )
    line = CartLine.objects.get(cart__customer=customer)
    changed = staff_client.post(
        cart_url(customer, "orders:customer-cart-quantity", line_id=line.pk),
        {"quantity": 1},
        **HTMX,
    )
    removed = staff_client.post(
        cart_url(customer, "orders:customer-cart-remove", line_id=line.pk), **HTMX
    )

    assert added.status_code == 302
    assert (changed.status_code, removed.status_code) == (200, 200)
    assert not CartLine.objects.filter(cart__customer=customer).exists()
    events = CartEvent.objects.filter(cart__customer=customer).order_by("pk")
    assert [(e.action, e.channel, e.performed_by, e.quantity_after) for e in events] == [
        (CartAction.ADD, Channel.STORE, vendeur, 2),
        (CartAction.CHANGE, Channel.STORE, vendeur, 1),
        (CartAction.REMOVE, Channel.STORE, vendeur, 0),
    ]
    assert Cart.objects.get(customer=customer).channel == Channel.STORE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "NOPE", "quantity": 1}, "No article on sale has this SKU or EAN."),
        ({"sku": "OLD", "quantity": 1}, "No article on sale has this SKU or EAN."),
        ({"sku": "OK", "quantity": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_input_shows_a_form_error_and_changes_nothing(staff_client, data, message):
    VariantFactory(sku="OLD", is_active=False)
    VariantFactory(sku="OK")
    customer = CustomerFactory()

    response = staff_client.post(cart_url(customer, "orders:customer-cart-add"), data, **HTMX)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CartLine.objects.exists()


def test_a_line_of_another_customers_cart_is_not_touched(staff_client):
    customer = CustomerFactory()
    CartFactory(customer=customer)
    other_line = CartLineFactory(quantity=2)

    response = staff_client.post(
        cart_url(customer, "orders:customer-cart-quantity", line_id=other_line.pk),
        {"quantity": 7},
        **HTMX,
    )

    assert response.status_code == 200
    assert "This line is not in the cart." in response.content.decode()
    other_line.refresh_from_db()
    assert other_line.quantity == 2


def test_send_her_a_link_by_a_consented_channel(staff_client, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    consent_grant(
        customer=customer,
        channel=ContactChannel.EMAIL,
        source=ConsentSource(channel=Channel.STORE),
    )
    CartLineFactory(cart=CartFactory(customer=customer))

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(cart_url(customer, "orders:customer-cart-send-link"), **HTMX)

    assert response.status_code == 200
    assert len(callbacks) == 1
    assert CartEvent.objects.get(action=CartAction.SEND_LINK).detail == {"via": "email"}


def test_without_consent_the_link_is_refused_with_a_message(staff_client):
    customer = CustomerFactory()
    CartLineFactory(cart=CartFactory(customer=customer))

    response = staff_client.post(cart_url(customer, "orders:customer-cart-send-link"), **HTMX)

    assert "cannot be reached" in response.content.decode()
    assert not CartEvent.objects.filter(action=CartAction.SEND_LINK).exists()


def test_only_store_staff_open_the_cart(client, make_staff):
    customer = CustomerFactory()
    assert client.get(cart_url(customer)).status_code == 302  # to the login page
    client.force_login(make_staff(roles.MARKETER))
    assert client.get(cart_url(customer)).status_code == 403
    assert client.post(cart_url(customer, "orders:customer-cart-add"), {}).status_code == 403


@pytest.mark.parametrize("count", [1, 30])
def test_the_cart_screen_runs_a_constant_number_of_queries(
    staff_client, store, count, django_assert_max_num_queries
):
    customer = CustomerFactory()
    cart = CartFactory(customer=customer)
    for _index in range(count):
        line = CartLineFactory(cart=cart)
        StockLevelFactory(variant=line.variant, location=store)

    with django_assert_max_num_queries(16):
        response = staff_client.get(cart_url(customer), **HTMX)

    assert len(response.context["view"].lines) == count
