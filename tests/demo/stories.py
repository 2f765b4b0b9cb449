"""The demo stories as `make run` runs them: `DATABASE_URL=... python tests/demo/stories.py`.

On a fresh PostgreSQL database (DATABASE_URL names it; the script refuses to run without one),
it runs `make run`'s own steps, migrate and seed_demo, then walks every write path of the demo
through the API, the staff screens and the services, and checks the results: checkouts, the
till, pickups, deliveries, returns, stock, loyalty, a campaign and its attribution, automations,
the pages. tests/demo/test_demo_stories.py runs it in a subprocess on a database of its own; run
it alone to see every flow that fails (it runs them all, then exits 1).

Celery tasks run eagerly (in the process), messages go to a file: nothing else is needed.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from omni.celery import app as celery_app  # noqa: E402

FLOWS: list[Callable[[], None]] = []
SEED = {"customers": 60, "products": 12, "stores": 3, "orders": 1}  # `make run`'s, smaller


def flow(function: Callable[[], None]) -> Callable[[], None]:
    FLOWS.append(function)
    return function


def staff(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def store(code: str = "PAR01"):
    from inventory.models import Location

    return Location.objects.get(code=code)


def warehouse():
    from inventory.models import Location, LocationKind

    return Location.objects.filter(kind=LocationKind.WAREHOUSE).order_by("code").first()


def variant_at(location, units: int = 3):
    """A sold variant with `units` more free at `location` (received through the service)."""
    from inventory import services as stock
    from inventory.models import Variant

    variant = Variant.objects.filter(is_active=True, product__is_active=True).order_by("?").first()
    stock.stock_receive(
        location=location,
        lines=[stock.StockLine(variant.pk, units)],
        reference=f"FLOW-{uuid.uuid4().hex[:8]}",
    )
    return variant


def new_customer(tag: str):
    from customers.models import Customer

    return Customer.objects.create(
        first_name="Flow", last_name=tag, email=f"{tag}-{uuid.uuid4().hex[:6]}@example.fr"
    )


def customer_api(customer) -> APIClient:
    from customers.auth import customer_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}")
    return client


def api_checkout(customer, variant, fulfilment: dict, *, key: str | None = None):
    """Her cart (one unit of `variant`, through the cart API) ordered through the checkout API."""
    client = customer_api(customer)
    added = client.post(
        "/api/v1/me/cart/lines/", {"sku": variant.sku, "quantity": 1}, format="json"
    )
    assert added.status_code == 201, added.content
    body = {
        "fulfilment": fulfilment,
        "payment": {
            "provider": "stripe",
            "reference": f"pi_{uuid.uuid4().hex[:8]}",
            "status": "authorised",
            "amount": str(variant.price),
        },
    }
    key = key or uuid.uuid4().hex
    placed = client.post("/api/v1/me/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert placed.status_code == 201, placed.content
    return client, body, key, placed.json()


def free(location, variant) -> int:
    from inventory.models import StockLevel

    level = StockLevel.objects.get(location=location, variant=variant)
    return level.on_hand - level.reserved


def campaign_history() -> dict[str, int]:
    from django_celery_beat.models import PeriodicTask

    from campaigns.models import Attribution, Campaign, Message, Segment, TrackingEvent
    from orders.models import Order

    return {
        model.__name__: model.objects.count()
        for model in (Segment, Campaign, Message, TrackingEvent, Attribution, Order, PeriodicTask)
    }


@flow
def the_demo_shows_a_sent_campaign_with_its_results_and_a_second_seed_adds_none():
    from campaigns.models import Campaign, Message
    from demo import campaigns as demo_campaigns

    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert statuses == {
        demo_campaigns.SENT: "sent",
        demo_campaigns.SCHEDULED: "scheduled",
        demo_campaigns.DRAFT: "draft",
    }, statuses
    sent = Campaign.objects.get(name=demo_campaigns.SENT)
    delivered = Message.objects.filter(campaign=sent, status="sent")
    assert delivered.exists(), "the demo campaign was sent to no one"
    assert not delivered.exclude(sent_at__lt=timezone.now() - dt.timedelta(days=1)).exists()
    page = staff("marketing").get(f"/marketing/campaigns/{sent.pk}/results/")
    assert page.status_code == 200, page.status_code
    total = page.context["figures"].total
    assert total.sent == delivered.count(), total
    assert total.opened == delivered.filter(opened_at__isnull=False).count() > 0, total
    assert total.converted >= 1, total
    assert total.revenue > 0, total
    assert f"<td>{total.revenue}</td>" in page.content.decode()
    assert total.revenue.as_tuple().exponent == -2, total.revenue  # cents, not 240.310000000000
    overview = staff("marketing").get("/marketing/results/")
    assert sent.name in overview.content.decode(), "the results page lists no sent campaign"
    before = campaign_history()

    call_command("seed_demo", **SEED, verbosity=0)

    assert campaign_history() == before


@flow
def web_checkout_pickup_with_a_replayed_key_then_ready_and_collected():
    from orders.models import Fulfilment, Notification, Order
    from orders.services import notification_queue, pickup_collect, pickup_mark_ready

    paris = store()
    variant = variant_at(paris)
    before = free(paris, variant)
    customer = new_customer("pickup")
    client, body, key, order = api_checkout(
        customer, variant, {"type": "pickup", "store": paris.code}
    )
    replay = client.post("/api/v1/me/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 201, replay.content
    assert replay.json()["number"] == order["number"]
    assert Order.objects.filter(customer=customer).count() == 1
    assert free(paris, variant) == before - 1
    fulfilment = Fulfilment.objects.get(order__number=order["number"])
    vendeur = get_user_model().objects.get(username="vendeur")
    pickup_mark_ready(fulfilment=fulfilment, performed_by=vendeur)
    pickup_collect(
        fulfilment=Fulfilment.objects.get(pk=fulfilment.pk),
        performed_by=vendeur,
        identity_checked=True,
    )
    assert Fulfilment.objects.get(pk=fulfilment.pk).status == "collected"
    # Confirmed (written with the order), then ready (queued alone), each once.
    kinds = Notification.objects.filter(order__number=order["number"]).values_list(
        "kind", flat=True
    )
    assert sorted(kinds) == ["confirmed", "ready"], list(kinds)
    assert notification_queue(order=fulfilment.order, kind="ready", fulfilment=fulfilment)
    assert Notification.objects.filter(order__number=order["number"]).count() == 2
    tracked = client.get(f"/api/v1/me/orders/{order['number']}/")
    assert tracked.status_code == 200, tracked.content


@flow
def web_checkout_delivery_from_a_warehouse():
    customer = new_customer("delivery")
    variant = variant_at(warehouse(), 5)
    address = {"name": "Léa", "line1": "3 rue Oberkampf", "postal_code": "75011", "city": "Paris"}
    _, _, _, order = api_checkout(customer, variant, {"type": "delivery", "address": address})
    assert order["shipping_address"]["city"] == "Paris", order


@flow
def order_numbers_are_unique_and_increasing():
    customer = new_customer("numbers")
    variant = variant_at(warehouse(), 5)
    address = {"name": "Léa", "line1": "1 rue", "postal_code": "75011", "city": "Paris"}
    numbers = [
        api_checkout(customer, variant, {"type": "delivery", "address": address})[3]["number"]
        for _ in range(3)
    ]
    assert numbers == sorted(set(numbers)), numbers


@flow
def concurrent_checkouts_get_distinct_order_numbers():
    # Like `make run`'s web server threads: each checkout in its own thread and connection.
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    variant = variant_at(warehouse(), 10)
    customers = [new_customer(f"rush{index}") for index in range(4)]
    address = {"name": "Léa", "line1": "1 rue", "postal_code": "75011", "city": "Paris"}

    def order(customer) -> str:
        try:
            return api_checkout(customer, variant, {"type": "delivery", "address": address})[3][
                "number"
            ]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(customers)) as pool:
        numbers = list(pool.map(order, customers))
    assert len(set(numbers)) == len(customers), numbers


@flow
def staff_sale_at_the_till_with_loyalty_points():
    from customers.loyalty.rules import loyalty_points_value
    from customers.models import Channel
    from customers.models_loyalty import LoyaltyAccount
    from customers.services import loyalty_adjust
    from orders.checkout.types import PaymentInfo, StoreSaleChoice
    from orders.models import OrderStatus
    from orders.services import cart_add_line, cart_for_customer, order_checkout

    paris = store()
    variant = variant_at(paris)
    before = free(paris, variant)
    customer = new_customer("till")
    loyalty_adjust(customer=customer, points=100, reason="welcome gift", performed_by=None)
    vendeur = get_user_model().objects.get(username="vendeur")
    cart = cart_for_customer(customer=customer, channel=Channel.STORE)
    cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.STORE)
    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=paris),
        payment=PaymentInfo(
            provider="card",
            reference=f"TPE-{uuid.uuid4().hex[:8]}",
            status="captured",
            amount=variant.price - loyalty_points_value(100),
        ),
        performed_by=vendeur,
        loyalty_points=100,
    )
    assert order.status == OrderStatus.COMPLETED
    assert free(paris, variant) == before - 1
    account = LoyaltyAccount.objects.get(customer=customer)
    assert account.balance >= 0
    page = staff("vendeur").get(f"/store/orders/{order.number}/")
    assert page.status_code in (200, 302), page.status_code


@flow
def a_return_at_the_store_puts_the_units_back():
    from customers.models import Channel
    from orders.checkout.types import PaymentInfo, StoreSaleChoice
    from orders.services import cart_add_line, cart_for_customer, order_checkout, return_create

    paris = store()
    variant = variant_at(paris)
    customer = new_customer("return")
    cart = cart_for_customer(customer=customer, channel=Channel.STORE)
    cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.STORE)
    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=paris),
        payment=PaymentInfo(
            provider="card",
            reference=f"TPE-{uuid.uuid4().hex[:8]}",
            status="captured",
            amount=variant.price,
        ),
    )
    after_sale = free(paris, variant)
    line = order.lines.get()
    return_create(
        order=order,
        location=paris,
        lines=[(line.pk, 1)],
        reason="too small",
        refund_amount=variant.price,
    )
    assert free(paris, variant) == after_sale + 1
    assert staff("vendeur").get("/store/returns/").status_code == 200


@flow
def stock_receive_adjust_and_transfer():
    from inventory import services as stock

    paris, montparnasse = store("PAR01"), store("PAR02")
    variant = variant_at(paris, 10)
    before = free(paris, variant)
    stock.stock_adjust(location=paris, variant_id=variant.pk, delta=-2, reason="damaged")
    assert free(paris, variant) == before - 2
    transfer = stock.stock_transfer_ship(
        source=paris, destination=montparnasse, lines=[stock.StockLine(variant.pk, 3)]
    )
    assert free(paris, variant) == before - 5
    stock.stock_transfer_receive(transfer=transfer)
    assert free(montparnasse, variant) >= 3
    manager = staff("manager")
    for url in ("/store/stock/", "/store/stock/low/", "/store/stock/transfers/"):
        assert manager.get(url).status_code == 200, url


@flow
def stock_reserve_release_and_sell():
    from inventory import services as stock

    paris = store()
    variant = variant_at(paris, 4)
    before = free(paris, variant)
    reference = f"FLOW-R-{uuid.uuid4().hex[:6]}"
    stock.stock_reserve(location=paris, lines=[stock.StockLine(variant.pk, 2)], reference=reference)
    assert free(paris, variant) == before - 2
    stock.stock_release(reference=reference)
    assert free(paris, variant) == before
    stock.stock_sell(
        location=paris, lines=[stock.StockLine(variant.pk, 1)], reference=f"{reference}-S"
    )
    assert free(paris, variant) == before - 1


@flow
def loyalty_earn_spend_and_replay():
    from customers.models import Channel
    from customers.models_loyalty import LoyaltyAccount
    from customers.services import loyalty_earn, loyalty_spend

    customer = new_customer("loyalty")
    earned = loyalty_earn(
        customer=customer, amount=Decimal("120.00"), reference="FLOW-E", channel=Channel.WEB
    )
    again = loyalty_earn(
        customer=customer, amount=Decimal("120.00"), reference="FLOW-E", channel=Channel.WEB
    )
    assert again.pk == earned.pk
    balance = LoyaltyAccount.objects.get(customer=customer).balance
    assert balance == earned.points > 0, (balance, earned.points)
    loyalty_spend(customer=customer, points=balance, reference="FLOW-S", channel=Channel.WEB)
    assert LoyaltyAccount.objects.get(customer=customer).balance == 0
    answer = customer_api(customer).get("/api/v1/me/loyalty/")
    assert answer.status_code == 200, answer.content


@flow
def a_campaign_is_launched_and_sent():
    from campaigns import services
    from campaigns.models import Campaign, Message

    segment = services.segment_create(
        name=f"Flow {uuid.uuid4().hex[:6]}",
        rules={"field": "orders_count", "op": "gte", "value": 0},
    )
    content = services.ChannelContent(
        channel="email", subject="Bonjour", body="Hello {{ first_name }}"
    )
    campaign = services.campaign_create(
        spec=services.CampaignSpec(
            name="Flow campaign",
            segment=segment,
            channels=("email",),
            variants=(services.VariantSpec(name="A", split_percent=100, contents=(content,)),),
            discount_percent=Decimal("10"),
        )
    )
    launched = services.campaign_launch(campaign=campaign)
    assert launched.messages > 0, launched
    services.messages_send_batch(campaign_id=campaign.pk)
    assert Message.objects.filter(campaign=campaign, status="sent").exists()
    campaign = Campaign.objects.get(pk=campaign.pk)
    marketing = staff("marketing")
    for url in (f"/marketing/campaigns/{campaign.pk}/", "/marketing/campaigns/"):
        assert marketing.get(url).status_code == 200, url


@flow
def a_delivery_is_picked_shipped_delivered_and_another_order_cancelled():
    from orders.models import Fulfilment, Order, OrderStatus
    from orders.services import (
        order_cancel,
        shipment_deliver,
        shipment_ship,
        shipment_start_picking,
    )

    customer = new_customer("shipped")
    variant = variant_at(warehouse(), 5)
    address = {"name": "Léa", "line1": "3 rue", "postal_code": "75011", "city": "Paris"}
    number = api_checkout(customer, variant, {"type": "delivery", "address": address})[3]["number"]
    parcel = Fulfilment.objects.get(order__number=number)
    parcel = shipment_start_picking(fulfilment=parcel)
    parcel = shipment_ship(fulfilment=parcel, carrier="Colissimo", tracking_number="6A123")
    shipment_deliver(fulfilment=parcel)
    assert Order.objects.get(number=number).status == OrderStatus.COMPLETED

    paris = store()
    variant = variant_at(paris)
    before = free(paris, variant)
    number = api_checkout(customer, variant, {"type": "pickup", "store": paris.code})[3]["number"]
    assert free(paris, variant) == before - 1
    order_cancel(order=Order.objects.get(number=number), reason="changed her mind")
    assert Order.objects.get(number=number).status == OrderStatus.CANCELLED
    assert free(paris, variant) == before


@flow
def stock_count_and_the_sweeps():
    from inventory import services as stock
    from orders.services import pickups_expire_overdue, pickups_send_reminders

    paris = store()
    variant = variant_at(paris, 4)
    stock.stock_count(location=paris, variant_id=variant.pk, counted=2)
    assert free(paris, variant) == 2
    stock.stock_release_expired()
    pickups_expire_overdue()
    pickups_send_reminders()


@flow
def two_profiles_are_merged_with_their_points():
    from customers.models_loyalty import LoyaltyAccount
    from customers.services import customer_merge, loyalty_adjust

    winner, loser = new_customer("winner"), new_customer("loser")
    loyalty_adjust(customer=winner, points=30, reason="gift", performed_by=None)
    loyalty_adjust(customer=loser, points=20, reason="gift", performed_by=None)
    customer_merge(winner=winner, loser=loser, performed_by=None, reason="same person")
    assert LoyaltyAccount.objects.get(customer=winner).balance == 50


@flow
def a_campaign_touch_and_its_code_are_credited_with_the_order():
    from campaigns import tracking
    from campaigns.models import Attribution, DiscountCode, Message
    from campaigns.services import order_attribute, orders_attribute_new
    from customers.models import Channel
    from orders.checkout.types import PaymentInfo, StoreSaleChoice
    from orders.models import Order
    from orders.services import cart_add_line, cart_for_customer, order_checkout

    # The flow campaign's codes (10 % off these prices is whole cents), not the demo's.
    code = (
        DiscountCode.objects.filter(redeemed_at__isnull=True, campaign__name="Flow campaign")
        .order_by("pk")
        .first()
    )
    assert code is not None, "run after a campaign with discount codes"
    message = Message.objects.get(pk=code.message_id)
    clicked = Client().get(tracking.click_url(message.pk, "https://shop.omni.example/"))
    assert clicked.status_code == 302, clicked.status_code
    paris = store()
    variant = variant_at(paris)
    cart = cart_for_customer(customer=message.customer, channel=Channel.STORE)
    cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.STORE)
    cart.refresh_from_db()
    total = (variant.price * (100 - code.percent) / 100).quantize(Decimal("0.01"))
    order = order_checkout(
        cart=cart,
        channel=Channel.STORE,
        fulfilment=StoreSaleChoice(store=paris),
        payment=PaymentInfo(
            provider="card",
            reference=f"TPE-{uuid.uuid4().hex[:8]}",
            status="captured",
            amount=total,
        ),
        discount_code=code.code,
    )
    rows = order_attribute(order=order)
    assert [(row.message_id, row.touch, row.is_last_touch) for row in rows] == [
        (message.pk, "code", True)
    ], rows
    assert sum(row.revenue_share for row in rows) == order.total

    # Another recipient clicks, then orders online without her code: a click touch, in window.
    other = (
        Message.objects.filter(campaign_id=message.campaign_id, status="sent")
        .exclude(customer_id=message.customer_id)
        .order_by("pk")
        .first()
    )
    Client().get(tracking.click_url(other.pk, "https://shop.omni.example/"))
    address = {"name": "Léa", "line1": "3 rue", "postal_code": "75011", "city": "Paris"}
    number = api_checkout(
        other.customer, variant_at(warehouse()), {"type": "delivery", "address": address}
    )[3]["number"]
    later = Order.objects.get(number=number)
    assert orders_attribute_new(now=later.placed_at + dt.timedelta(hours=1)) >= 1
    assert list(
        Attribution.objects.filter(order=later).values_list("message_id", "touch", "weight")
    ) == [(other.pk, "click", 1)]


@flow
def automations_enrol_and_send():
    from campaigns import services as automations
    from campaigns.models import Automation, Enrolment
    from campaigns.services import messages_send_batch
    from customers.models import Channel
    from customers.services.consents import ConsentSource, consent_grant
    from orders.services import cart_add_line, cart_for_customer

    # A cart left with a line in it: the abandoned-cart trigger's key counts its seconds.
    customer = new_customer("cart")
    consent_grant(customer=customer, channel="email", source=ConsentSource(channel=Channel.WEB))
    cart = cart_for_customer(customer=customer, channel=Channel.WEB)
    cart_add_line(cart=cart, variant=variant_at(store()), quantity=1, channel=Channel.WEB)
    step = automations.StepSpec(channel="email", email_subject="Omni", email_body="Bonjour")
    for trigger in ("welcome", "abandoned_cart", "satisfaction", "back_in_stock", "win_back"):
        automations.automation_create(
            spec=automations.AutomationSpec(
                name=f"Flow {trigger}",
                trigger=trigger,
                steps=(step,),
                idle_hours=0,
                idle_days=0,
                starts_at=timezone.now() - dt.timedelta(days=30),
            )
        )
    later = timezone.now() + dt.timedelta(days=2)
    automations.automations_enrol(now=later)
    automations.automation_steps_run(now=later)
    for campaign_id in Automation.objects.values_list("campaign_id", flat=True):
        while messages_send_batch(campaign_id=campaign_id, now=later).claimed:
            pass
    enrolled = set(Enrolment.objects.values_list("automation__trigger", flat=True))
    assert {"welcome", "satisfaction", "abandoned_cart"} <= enrolled, enrolled


@flow
def pages_render():
    from customers.models import Customer

    customer = Customer.objects.order_by("pk").first()
    pages = {
        "conseiller": [f"/customers/{customer.pk}/360/", f"/customers/{customer.pk}/", "/service/"],
        "manager": ["/dashboard/management/", "/store/pickups/", "/store/"],
        "marketing": ["/marketing/results/", "/marketing/segments/", "/marketing/"],
    }
    variant = variant_at(store())
    anonymous = APIClient()
    for url in ("/api/v1/products/", f"/api/v1/availability/{variant.sku}/", "/api/v1/locations/"):
        assert anonymous.get(url).status_code == 200, url
    batch = anonymous.get("/api/v1/availability/", {"sku": variant.sku})
    assert batch.status_code == 200, batch.content
    for username, urls in pages.items():
        client = staff(username)
        for url in urls:
            answer = client.get(url)
            assert answer.status_code == 200, (username, url, answer.status_code)


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        # Not `make run`'s own database: the stories add customers, orders and campaigns.
        sys.stderr.write("run this with DATABASE_URL naming a fresh PostgreSQL database\n")
        return 2
    setup_test_environment()
    celery_app.conf.task_always_eager = True
    outbox = Path(tempfile.mkdtemp(prefix="omni-flows-")) / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(outbox)} for c in ("email", "sms", "push")}
    call_command("migrate", verbosity=0)
    call_command("seed_demo", **SEED, verbosity=0)
    failed = []
    for function in FLOWS:
        try:
            function()
        except Exception:
            failed.append(function.__name__)
            sys.stderr.write(f"FAILED {function.__name__}\n")
            traceback.print_exc()
        else:
            sys.stdout.write(f"ok {function.__name__}\n")
    sys.stdout.write(f"{len(FLOWS) - len(failed)} of {len(FLOWS)} flows pass\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
