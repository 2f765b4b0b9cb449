"""The till takes campaign codes through the one checkout; and the story end to end: a campaign
SMS carries her code, she buys in store with it, the order is the campaign's (last touch)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services as campaigns
from campaigns.models import Attribution, DiscountCode, TrackingEvent
from campaigns.services import order_attribute
from customers.models import Channel
from inventory.models import StockLevel
from omni import roles
from orders.models import Cart, CartStatus, Order, Payment
from tests.campaigns.automation_helpers import deliveries
from tests.campaigns.discount_helpers import issued_code
from tests.campaigns.factories import consent, make_campaign
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.order_factories import stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def paris():
    return StoreFactory(code="PAR01", name="Paris Rivoli")


@pytest.fixture
def dress(paris):
    variant = VariantFactory(sku="ROBE-38", price=Decimal("89.00"))
    stock_up(variant, paris, 3)
    return variant


@pytest.fixture
def vendeur(client, make_staff, paris):
    client.force_login(make_staff(roles.STORE_STAFF, stores=[paris]))
    return client


@pytest.fixture
def lea():
    return CustomerFactory(first_name="Léa", email="lea@example.fr", phone="+33612345678")


def sale_for(client, query: str) -> Cart:
    """Open the till for her (her one cart) and ring up one dress."""
    client.post(reverse("orders:till"), {"customer": query})
    cart = Cart.objects.get(status=CartStatus.ACTIVE)
    client.post(
        reverse("orders:till-add", kwargs={"cart_id": cart.pk}), {"sku": "ROBE-38", "quantity": 1}
    )
    return cart


def pay(client, cart, **fields):
    url = reverse("orders:till-pay", kwargs={"cart_id": cart.pk})
    return client.post(url, {"provider": "card", "reference": "TPE-0001", **fields})


def test_the_till_applies_a_code_then_records_the_discounted_sale(
    vendeur, lea, dress, paris, django_assert_max_num_queries
):
    code = issued_code(lea, percent="20")
    cart = sale_for(vendeur, lea.email)
    till = vendeur.get(reverse("orders:till-cart", kwargs={"cart_id": cart.pk})).content.decode()
    # Enter in a field (a scanner's too) submits with the first button: the sale, not the code
    assert till.index("Done: record the sale") < till.index('name="apply_code"')

    with django_assert_max_num_queries(25):
        applied = pay(vendeur, cart, discount_code=code.code.lower(), apply_code="1")

    assert applied.status_code == 200
    assert applied.context["quote"] == {
        "label": f"{code.campaign.name}: -20%",
        "saved": Decimal("17.80"),
        "to_pay": Decimal("71.20"),
    }
    form = applied.context["pay_form"]
    assert (form["amount"].value(), form["discount_code"].value()) == (
        Decimal("71.20"),
        code.code,
    )
    assert form["reference"].value() == "TPE-0001"  # what she typed before applying stays
    assert "17.80 off, 71.20 to pay" in applied.content.decode()
    code.refresh_from_db()
    assert code.redeemed_at is None  # only checked: taken by the sale

    sold = pay(vendeur, cart, amount="71.20", discount_code=code.code)

    assert sold.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.customer, order.total, order.code_discount) == (
        Channel.STORE,
        lea,
        Decimal("71.20"),
        Decimal("17.80"),
    )
    code.refresh_from_db()
    assert code.redeemed_order == order
    page = vendeur.get(reverse("orders:order-detail", kwargs={"number": order.number}))
    assert code.code in page.content.decode()


def test_the_till_refuses_a_bad_code_on_its_field_when_applied(vendeur, lea, dress):
    cart = sale_for(vendeur, lea.email)

    refused = pay(vendeur, cart, discount_code="OMNOPE", apply_code="1")

    assert refused.status_code == 400
    form = refused.context["pay_form"]
    assert form.errors == {"discount_code": ["This discount code does not exist."]}
    assert refused.context["quote"] is None


def test_the_till_refuses_another_customers_code_at_payment_and_sells_nothing(
    vendeur, lea, dress, paris
):
    code = issued_code(CustomerFactory())
    cart = sale_for(vendeur, lea.email)

    refused = pay(vendeur, cart, amount="80.10", discount_code=code.code)

    assert refused.status_code == 400
    assert refused.context["pay_form"].errors == {
        "discount_code": ["This discount code belongs to another customer."]
    }
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert StockLevel.objects.get(location=paris, variant=dress).on_hand == 3
    code.refresh_from_db()
    assert code.redeemed_at is None


# --- the story end to end ----------------------------------------------------------------------


@pytest.fixture
def sink(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {"FR": dict.fromkeys(("email", "sms", "push"))}
    return path


def test_a_campaign_code_sent_by_sms_bought_with_at_the_till_is_the_campaigns_sale(
    sink, vendeur, lea, dress
):
    # Given a campaign SMS with a personal code, and a later click on another campaign's email
    consent(lea, "sms", "email")
    sms = campaigns.VariantSpec(
        name="A",
        split_percent=100,
        contents=(
            campaigns.ChannelContent(
                channel="sms",
                subject="",
                body="{{ first_name }}, -{{ discount_percent|floatformat:0 }}% : "
                "{{ discount_code }}",
            ),
        ),
    )
    sale = make_campaign(name="Soldes", channels=("sms",), variants=(sms,), discount_percent=10)
    campaigns.campaign_launch(campaign=sale)
    campaigns.messages_send_batch(campaign_id=sale.pk)
    [sent] = deliveries(sink)
    typed = re.search(r"OM[A-Z2-7]{10}", sent["body"]).group()
    newsletter = make_campaign(name="Newsletter", channels=("email",))
    other = issued_code(lea, campaign=newsletter, channel="email").message
    TrackingEvent.objects.create(
        message=other,
        customer=lea,
        campaign=newsletter,
        channel="email",
        kind="click",
        at=timezone.now() - dt.timedelta(seconds=5),
    )

    # When she buys at the till with the code she read on her phone
    cart = sale_for(vendeur, lea.phone)
    sold = pay(vendeur, cart, amount="80.10", discount_code=typed)

    # Then the sale is discounted, the code used, and the campaign is its last touch
    assert sold.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.total, order.discount_code) == (
        Channel.STORE,
        Decimal("80.10"),
        typed,
    )
    code = DiscountCode.objects.get(code=typed)
    assert (code.campaign, code.customer, code.redeemed_order) == (sale, lea, order)
    rows = order_attribute(order=order)
    assert [(row.campaign.name, row.touch, row.is_last_touch) for row in rows] == [
        ("Soldes", "code", True),
        ("Newsletter", "click", False),
    ]
    assert [row.revenue_share for row in rows] == [Decimal("40.05"), Decimal("40.05")]
    assert rows[0].message_id == code.message_id
    order_attribute(order=order)  # a replay writes nothing more
    assert Attribution.objects.filter(order=order).count() == 2
