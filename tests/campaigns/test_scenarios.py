"""The scenarios of the abandoned-cart automation and of the welcome series, through
the customers and cart services and the beat tasks."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import DiscountCode, Enrolment, EnrolmentStatus
from customers import services as customers
from customers.models import Channel, ContactChannel
from orders import services as carts
from orders.models import Cart
from tests.campaigns.automation_helpers import deliveries, email, make_automation, sms, tick
from tests.campaigns.factories import order_placed
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

WEB = customers.ConsentSource(channel=Channel.WEB, text_version="2026-01")
PHONES = itertools.count(1)


@pytest.fixture(autouse=True)
def sink(settings, tmp_path):
    path = tmp_path / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    # Quiet hours have their own tests: these must not depend on the time they run at.
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {"FR": dict.fromkeys(("email", "sms", "push"))}
    return path


def shopper(name: str, *consents: ContactChannel):
    customer, _created = customers.customer_resolve(
        email=f"{name.lower()}@example.fr",
        phone=f"+3361{next(PHONES):07d}",
        defaults=customers.ProfileChanges(first_name=name),
        channel=Channel.WEB,
    )
    for channel in consents:
        customers.consent_grant(customer=customer, channel=channel, source=WEB)
    return customer


# --- scenario 1 ---------------------------------------------------------------------------------

CART_EMAIL = (
    "Bonjour {{ first_name }}, votre panier vous attend :"
    "{% for line in cart_lines %}\n- {{ line.name }} x {{ line.quantity }}{% endfor %}\n"
    "-{{ discount_percent|floatformat:0 }}% avec le code {{ discount_code }}"
)


@pytest.fixture
def abandoned_cart_automation():
    return make_automation(
        "abandoned_cart",
        email(CART_EMAIL, subject="Votre panier"),
        idle_hours=4,
        discount_percent=Decimal("10"),
    )


def leaves_her_cart(customer, *, hours_ago: float = 5) -> Cart:
    """She fills her cart on the web shop, then leaves: `hours_ago` hours pass."""
    cart = carts.cart_for_customer(customer=customer, channel=Channel.WEB)
    dress = VariantFactory(name="Robe Lin M")
    belt = VariantFactory(name="Ceinture cuir")
    carts.cart_add_line(cart=cart, variant=dress, quantity=1, channel=Channel.WEB)
    carts.cart_add_line(cart=cart, variant=belt, quantity=2, channel=Channel.WEB)
    Cart.objects.filter(pk=cart.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    return cart


def test_scenario_1_a_cart_left_hours_ago_gets_one_email_listing_its_lines(
    sink, abandoned_cart_automation
):
    lea = shopper("Lea", ContactChannel.EMAIL)
    cart = leaves_her_cart(lea)

    tick()
    tick()  # the next minute's tick: nothing more

    (sent,) = deliveries(sink)
    code = DiscountCode.objects.get(customer=lea)
    assert (sent["channel"], sent["to"], sent["subject"]) == ("email", lea.email, "Votre panier")
    assert sent["body"] == (
        "Bonjour Lea, votre panier vous attend :\n- Robe Lin M x 1\n- Ceinture cuir x 2\n"
        f"-10% avec le code {code.code}"
    )
    enrolment = Enrolment.objects.get()
    assert (enrolment.cart_id, enrolment.status) == (cart.pk, EnrolmentStatus.COMPLETED)


def test_scenario_1_no_email_without_email_consent(sink, abandoned_cart_automation):
    sms_only = shopper("Zoe", ContactChannel.SMS)
    leaves_her_cart(sms_only)

    tick()

    assert deliveries(sink) == []


def test_scenario_1_no_email_when_she_ordered_meanwhile(sink, abandoned_cart_automation):
    lea = shopper("Lea", ContactChannel.EMAIL)
    leaves_her_cart(lea, hours_ago=5)
    order_placed(customer=lea, days_ago=1 / 24)  # in store, an hour ago

    tick()

    assert deliveries(sink) == []
    assert not Enrolment.objects.exists()


def test_scenario_1_not_before_she_has_been_away_the_idle_time(sink, abandoned_cart_automation):
    lea = shopper("Lea", ContactChannel.EMAIL)
    leaves_her_cart(lea, hours_ago=3)

    tick()

    assert deliveries(sink) == []


# --- scenario 6 ---------------------------------------------------------------------------------


@pytest.fixture
def welcome_series():
    return make_automation(
        "welcome",
        sms(
            "Bienvenue {{ first_name }} ! "
            "-{{ discount_percent|floatformat:0 }}% : {{ discount_code }}"
        ),
        email(
            "{{ first_name }}, nos nouveautés vous attendent.",
            subject="Bienvenue chez Omni",
            delay=dt.timedelta(days=2),
        ),
        discount_percent=Decimal("15"),
    )


def test_scenario_6_sms_opt_in_gets_a_welcome_sms_with_a_first_discount_code(sink, welcome_series):
    ines = shopper("Ines", ContactChannel.SMS)

    tick()

    (sent,) = deliveries(sink)
    code = DiscountCode.objects.get(customer=ines)
    assert (sent["channel"], sent["to"]) == ("sms", ines.phone)
    assert sent["body"] == f"Bienvenue Ines ! -15% : {code.code}"
    assert (code.percent, code.redeemed_at) == (Decimal("15"), None)


def test_scenario_6_the_email_follow_up_comes_after_the_delay_only_with_email_consent(
    sink, welcome_series
):
    sms_only = shopper("Ines", ContactChannel.SMS)
    both = shopper("Ambre", ContactChannel.SMS, ContactChannel.EMAIL)
    tick()
    tick(timezone.now() + dt.timedelta(days=1))
    assert sorted(d["channel"] for d in deliveries(sink)) == ["sms", "sms"]

    tick(timezone.now() + dt.timedelta(days=2, minutes=1))

    sent = deliveries(sink)
    assert sorted((d["channel"], d["to"]) for d in sent) == sorted(
        [("sms", sms_only.phone), ("sms", both.phone), ("email", both.email)]
    )
    assert [d["body"] for d in sent if d["channel"] == "email"] == [
        "Ambre, nos nouveautés vous attendent."
    ]
    assert set(Enrolment.objects.values_list("status", flat=True)) == {EnrolmentStatus.COMPLETED}


def test_scenario_6_her_first_order_ends_the_welcome_series(sink, welcome_series):
    both = shopper("Ambre", ContactChannel.SMS, ContactChannel.EMAIL)
    tick()
    order_placed(customer=both, days_ago=0)

    tick(timezone.now() + dt.timedelta(days=3))

    assert [d["channel"] for d in deliveries(sink)] == ["sms"]
    assert Enrolment.objects.get().status == EnrolmentStatus.CONVERTED
