"""The checkout and orders API: idempotent checkout, tracking, cancel, pickup options, bad input;
and under real concurrency (live server, threads): no oversell, one order per key.

Throttling needs no override here: each customer has her own bucket (UserRateThrottle keys on
the customer principal) and the user rate is 6000/minute, far above what these tests send.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customers.auth import customer_token
from customers.models import Channel
from inventory.models import StockLevel
from orders.checkout import StoreSaleChoice
from orders.models import CartStatus, CheckoutRequest, Order, OrderStatus
from orders.services import order_checkout
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import (
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/me/checkout/"
ORDERS = "/api/v1/me/orders/"


def client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}")
    return client


def body(store_code: str = "PARIS1", amount: str = "79.90", kind: str = "pickup") -> dict:
    return {
        "fulfilment": {"type": kind, "store": store_code},
        "payment": {
            "provider": "stripe",
            "reference": f"pi_{uuid.uuid4().hex[:8]}",
            "status": "authorised",
            "amount": amount,
        },
    }


@pytest.fixture
def store():
    return StoreFactory(code="PARIS1", name="Omni Rivoli", address="12 rue de Rivoli")


@pytest.fixture
def dress(store):
    variant = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=variant, on_hand=10)
    return variant


def cart_of(customer, variant, quantity=1):
    return CartLineFactory(cart=CartFactory(customer=customer), variant=variant, quantity=quantity)


def test_checkout_then_track_the_order(store, dress):
    customer = CustomerFactory()
    cart_of(customer, dress)
    client = client_for(customer)

    placed = client.post(CHECKOUT, body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert placed.status_code == 201, placed.data
    number = placed.data["number"]
    assert (placed.data["status"], placed.data["total"], placed.data["vat_total"]) == (
        "placed",
        "79.90",
        "13.32",
    )
    [fulfilment] = placed.data["fulfilments"]
    assert fulfilment["status"] == "reserved"
    assert fulfilment["location"]["address"] == "12 rue de Rivoli"
    assert len(fulfilment["pickup_code"]) == 6
    assert fulfilment["lines"] == [{"sku": "ROBE-38", "quantity": 1}]
    detail = client.get(f"{ORDERS}{number}/")
    assert detail.status_code == 200
    assert detail.json() == placed.json()
    listed = client.get(ORDERS)
    assert [order["number"] for order in listed.data["results"]] == [number]


def test_replaying_a_key_returns_the_same_answer_and_another_body_is_refused(store, dress):
    customer = CustomerFactory()
    cart_of(customer, dress)
    client = client_for(customer)
    request = body()

    first = client.post(CHECKOUT, request, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    again = client.post(CHECKOUT, request, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(CHECKOUT, body(amount="1.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert other.status_code == 422
    assert other.data["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_checkout_without_a_key_is_refused(store, dress):
    customer = CustomerFactory()
    cart_of(customer, dress)

    refused = client_for(customer).post(CHECKOUT, body(), format="json")

    assert (refused.status_code, refused.data["code"]) == (400, "idempotency_key_required")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("request_body", "quantity", "status", "code"),
    [
        (body(store_code="NOPE"), 1, 400, "invalid"),
        (body(amount="70.00"), 1, 400, "payment_amount_mismatch"),
        (body(amount="878.90"), 11, 409, "insufficient_stock"),
        (body(store_code="NOCC"), 1, 400, "service_not_offered"),
        ({"fulfilment": {"type": "pickup"}, "payment": body()["payment"]}, 1, 400, "invalid"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    store, dress, request_body, quantity, status, code
):
    StoreFactory(code="NOCC", click_and_collect=False)
    customer = CustomerFactory()
    line = cart_of(customer, dress, quantity)

    refused = client_for(customer).post(
        CHECKOUT, request_body, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )

    assert (refused.status_code, refused.data["code"]) == (status, code), refused.data
    assert refused.data.get("fields") or refused.data.get("skus") or code != "invalid"
    assert not Order.objects.exists()
    assert not CheckoutRequest.objects.exists()
    line.cart.refresh_from_db()
    assert line.cart.status == CartStatus.ACTIVE
    assert StockLevel.objects.get(location=store, variant=dress).reserved == 0


def test_empty_cart_is_refused(store):
    customer = CustomerFactory()
    CartFactory(customer=customer)

    refused = client_for(customer).post(CHECKOUT, body(), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert (refused.status_code, refused.data["code"]) == (400, "empty_cart")


def test_she_sees_only_her_orders(store, dress):
    mine, theirs = CustomerFactory(), CustomerFactory()
    cart_of(theirs, dress)
    client_for(theirs).post(CHECKOUT, body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
    number = Order.objects.get().number

    assert client_for(mine).get(f"{ORDERS}{number}/").status_code == 404
    assert client_for(mine).get(ORDERS).data["results"] == []
    assert client_for(mine).post(f"{ORDERS}{number}/cancel/").status_code == 404


def test_cancel_gives_the_stock_back(store, dress):
    customer = CustomerFactory()
    cart_of(customer, dress, 2)
    client = client_for(customer)
    number = client.post(
        CHECKOUT, body(amount="159.80"), format="json", HTTP_IDEMPOTENCY_KEY="k"
    ).data["number"]

    cancelled = client.post(f"{ORDERS}{number}/cancel/", {"reason": "changed my mind"})

    assert cancelled.status_code == 200, cancelled.data
    assert cancelled.data["status"] == OrderStatus.CANCELLED
    assert StockLevel.objects.get(location=store, variant=dress).reserved == 0


def test_order_list_queries_do_not_grow(store, dress, django_assert_max_num_queries):
    StockLevel.objects.filter(variant=dress).update(on_hand=50)
    customer = CustomerFactory()
    client = client_for(customer)
    for index in range(12):
        cart_of(customer, dress)
        client.post(CHECKOUT, body(), format="json", HTTP_IDEMPOTENCY_KEY=f"k-{index}")

    with django_assert_max_num_queries(4):
        listed = client.get(ORDERS)

    assert listed.data["count"] == 12


def test_pickup_options_for_her_cart(store, dress):
    customer = CustomerFactory(postal_code="75011")
    cart_of(customer, dress, 2)

    options = client_for(customer).get("/api/v1/me/cart/pickup-options/")

    assert options.status_code == 200
    assert [(o["code"], o["ready_today"] in (True, False)) for o in options.data] == [
        ("PARIS1", True)
    ]
    assert options.data[0]["needs_transfer"] is False
    assert options.data[0]["distance_km"] is not None


def test_scenario_2_the_sale_at_the_till_shows_in_her_account(store, dress, make_staff):
    # Her phone cart is opened by a salesperson and sold at the till.
    customer = CustomerFactory()
    cart = cart_of(customer, dress).cart
    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=store),
        payment=None,
        performed_by=make_staff(None, stores=[store]),
    )

    listed = client_for(customer).get(ORDERS)

    [shown] = listed.data["results"]
    assert (shown["number"], shown["channel"], shown["status"]) == (
        order.number,
        "store",
        "completed",
    )
    assert shown["fulfilments"][0]["kind"] == "store_sale"
    assert StockLevel.objects.get(location=store, variant=dress).on_hand == 9


# --- real HTTP, real threads -------------------------------------------------------------------

# PostgreSQL allows 100 connections on these machines, shared with the rest of the suite: the
# live server opens one per request in flight, so at most this many requests run at once.
IN_FLIGHT = 25


def post_checkout(url: str, customer_id: int, token: str, payload: dict, key: str):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            CHECKOUT,
            body=json.dumps(payload),
            headers={
                "Authorization": f"Customer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run_concurrently(calls: list, workers: int) -> list:
    """Run the calls `workers` at a time, each wave released together; fail on any error.

    A call's error is kept as its result rather than raised from the pool: raising would cancel
    the calls still queued and leave the threads already waiting on the barrier there forever.
    """
    barrier = threading.Barrier(min(workers, len(calls)))

    def call(task):
        function, args = task
        try:
            barrier.wait(timeout=60)  # the waves start together
            return function(*args)
        except Exception as error:  # reported below, with every other failure
            return error

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(call, calls))
    errors = [repr(result) for result in results if isinstance(result, Exception)]
    assert not errors, errors[:3]
    return results


@pytest.mark.django_db(transaction=True)
def test_100_checkouts_race_for_10_units(live_server):
    store = StoreFactory(code="PARIS1")
    dress = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=dress, on_hand=10)
    customers = CustomerFactory.create_batch(100)
    for customer in customers:
        cart_of(customer, dress)
    calls = [
        (
            post_checkout,
            (live_server.url, c.pk, customer_token(customer=c), body(), f"race-{c.pk}"),
        )
        for c in customers
    ]

    answers = run_concurrently(calls, IN_FLIGHT)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * 10 + [409] * 90
    refusals = [json.loads(content) for status, content in answers if status == 409]
    assert {(r["code"], tuple(r["skus"])) for r in refusals} == {
        ("insufficient_stock", ("ROBE-38",))
    }
    assert Order.objects.count() == 10
    level = StockLevel.objects.get(location=store, variant=dress)
    assert (level.on_hand, level.reserved) == (10, 10)


@pytest.mark.django_db(transaction=True)
def test_50_replays_of_one_key_make_one_order(live_server):
    store = StoreFactory(code="PARIS1")
    dress = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=dress, on_hand=10)
    customer = CustomerFactory()
    cart_of(customer, dress)
    token, payload = customer_token(customer=customer), body()
    calls = [(post_checkout, (live_server.url, customer.pk, token, payload, "same"))] * 50

    answers = run_concurrently(calls, IN_FLIGHT)

    assert {status for status, _ in answers} == {201}
    assert len({content for _, content in answers}) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(location=store, variant=dress).reserved == 1


def test_scenario_1_from_her_cart_to_the_ready_for_pickup_message(settings, tmp_path, make_staff):
    # She checks out her app cart with click-and-collect at the store that has the items, the
    # store prepares it, and she is told it is ready, with her code and the store's address.
    from orders.models import Fulfilment, Notification, NotificationKind
    from orders.services import notification_send, pickup_mark_ready

    outbox = tmp_path / "outbox.jsonl"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(
        ("email", "sms", "push"), "omni.messaging.backends.FileBackend"
    )
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(outbox)} for c in ("email", "sms", "push")}
    store = StoreFactory(code="PARIS1", name="Omni Rivoli", address="12 rue de Rivoli")
    dress = VariantFactory(sku="ROBE-38", price=Decimal("79.90"))
    StockLevelFactory(location=store, variant=dress, on_hand=3)
    customer = CustomerFactory(preferred_channel="email", language="en", postal_code="75011")
    client = client_for(customer)
    client.post("/api/v1/me/cart/lines/", {"sku": "ROBE-38", "quantity": 1}, format="json")

    [option] = client.get("/api/v1/me/cart/pickup-options/").data
    placed = client.post(
        CHECKOUT, body(store_code=option["code"]), format="json", HTTP_IDEMPOTENCY_KEY="s1"
    )
    fulfilment = Fulfilment.objects.get(order__number=placed.data["number"])
    pickup_mark_ready(fulfilment=fulfilment, performed_by=make_staff(None, stores=[store]))
    ready = Notification.objects.get(kind=NotificationKind.READY_FOR_PICKUP)
    notification_send(notification_id=ready.pk)

    [message] = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert (message["channel"], message["to"]) == ("email", customer.email)
    assert fulfilment.pickup_code in message["body"]
    assert "Omni Rivoli, 12 rue de Rivoli" in message["body"]
    tracked = client.get(f"{ORDERS}{placed.data['number']}/").data
    assert tracked["fulfilments"][0]["status"] == "ready"


def test_a_delivery_needs_an_address_and_the_tracking_view_shows_it(dress):
    from tests.inventory.factories import WarehouseFactory

    StockLevelFactory(location=WarehouseFactory(), variant=dress, on_hand=5)
    customer = CustomerFactory()
    cart_of(customer, dress)
    client = client_for(customer)
    without = body(kind="delivery")
    without["fulfilment"].pop("store")

    refused = client.post(CHECKOUT, without, format="json", HTTP_IDEMPOTENCY_KEY="d-1")

    assert refused.status_code == 400
    assert refused.data["fields"]["fulfilment"]["address"] == ["Give the delivery address."]
    assert Order.objects.count() == 0

    address = {
        "name": "Léa Dupont",
        "line1": "3 rue Oberkampf",
        "postal_code": "75011",
        "city": "Paris",
    }
    with_address = {**without, "fulfilment": {"type": "delivery", "address": address}}
    placed = client.post(CHECKOUT, with_address, format="json", HTTP_IDEMPOTENCY_KEY="d-2")

    assert placed.status_code == 201, placed.data
    assert placed.data["shipping_address"] == {**address, "line2": "", "country": "FR", "phone": ""}


def test_erasing_her_blanks_the_addresses_of_the_orders_kept_and_deletes_her_carts(dress):
    from customers.services import customer_erase
    from orders.models import Cart
    from tests.inventory.factories import WarehouseFactory

    StockLevelFactory(location=WarehouseFactory(), variant=dress, on_hand=5)
    customer = CustomerFactory()
    cart_of(customer, dress)
    payload = body(kind="delivery")
    payload["fulfilment"] = {
        "type": "delivery",
        "address": {
            "name": "Léa",
            "line1": "3 rue Oberkampf",
            "postal_code": "75011",
            "city": "Paris",
        },
    }
    assert (
        client_for(customer)
        .post(CHECKOUT, payload, format="json", HTTP_IDEMPOTENCY_KEY="e-1")
        .status_code
        == 201
    )
    CartFactory(customer=customer)  # she started a new cart afterwards

    customer_erase(customer=customer, performed_by=None, reason="her request")

    order = Order.objects.get()
    assert (order.ship_to_name, order.ship_to_line1, order.ship_to_city) == ("", "", "")
    assert not Cart.objects.filter(customer=customer).exists()


def test_the_checkout_answer_built_in_hand_is_the_order_read_back(store):
    # A split delivery of three lines, paid partly with points: the answer checkout builds from
    # what it wrote is exactly what the tracking view reads back from the database.
    from customers.services import loyalty_adjust

    customer = CustomerFactory()
    loyalty_adjust(customer=customer, points=100, reason="gift", performed_by=None)
    cart = CartFactory(customer=customer)
    north, south = WarehouseFactory(code="NORD"), WarehouseFactory(code="SUD")
    for index, (where, price) in enumerate(((north, "12.50"), (south, "30.00"), (north, "7.25"))):
        variant = VariantFactory(sku=f"SKU-{index}", price=Decimal(price))
        StockLevelFactory(location=where, variant=variant, on_hand=5)
        CartLineFactory(cart=cart, variant=variant, quantity=index + 1)
    payload = {
        "fulfilment": {
            "type": "delivery",
            "address": {"name": "Léa", "line1": "1 rue", "postal_code": "75011", "city": "Paris"},
        },
        "payment": {
            "provider": "stripe",
            "reference": "pi_x",
            "status": "captured",
            "amount": "89.25",
        },
        "loyalty_points": 100,
    }
    client = client_for(customer)

    placed = client.post(CHECKOUT, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-split")

    assert placed.status_code == 201, placed.json()
    assert len(placed.json()["fulfilments"]) == 2
    assert (placed.json()["discount_total"], placed.json()["total"]) == ("5.00", "89.25")
    detail = client.get(f"{ORDERS}{placed.json()['number']}/")
    assert detail.json() == placed.json()


@pytest.mark.parametrize("size", [1, 10])
def test_a_checkout_request_costs_a_fixed_number_of_queries_and_one_savepoint(store, size):
    # Notifications, loyalty, the payment and the idempotency key are written with
    # INSERT ... ON CONFLICT: no savepoint pair each; the cart is closed by one conditional
    # UPDATE; order_checkout and the stock reservation take no savepoint inside the API's
    # transaction (any error rolls it all back). The one left is that transaction's own, a
    # savepoint here only because the test runs inside a transaction.
    customer = CustomerFactory()
    cart = CartFactory(customer=customer)
    for index in range(size):
        variant = VariantFactory(sku=f"SKU-{index}", price=Decimal("10.00"))
        StockLevelFactory(location=store, variant=variant, on_hand=5)
        CartLineFactory(cart=cart, variant=variant, quantity=1)
    client = client_for(customer)

    with CaptureQueriesContext(connection) as queries:
        placed = client.post(
            CHECKOUT, body(amount=f"{10 * size}.00"), format="json", HTTP_IDEMPOTENCY_KEY="q"
        )

    assert placed.status_code == 201, placed.json()
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= 20, statements
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 1, statements
