"""Demo data: realistic, linked together, and idempotent for a given seed."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F, Max, Min, Sum

from customers.models import Customer
from inventory.models import Location, StockLevel, StockMovement, Variant

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        Customer.objects.count(),
        Variant.objects.count(),
        Location.objects.count(),
        StockLevel.objects.aggregate(total=Sum("on_hand"))["total"],
        StockMovement.objects.count(),
    )


def test_seeding_twice_with_the_same_seed_adds_nothing():
    call_command("seed_demo", customers=120, products=6, stores=3, seed=7, verbosity=0)
    first = snapshot()

    call_command("seed_demo", customers=120, products=6, stores=3, seed=7, verbosity=0)

    assert snapshot() == first
    assert first[0] == 120
    assert first[2] == 5  # three stores and the two warehouses


def test_seeding_more_customers_adds_only_the_missing_ones():
    call_command("seed_demo", customers=50, products=2, stores=1, verbosity=0)
    emails = set(Customer.objects.values_list("email", flat=True))

    call_command("seed_demo", customers=80, products=2, stores=1, verbosity=0)

    assert Customer.objects.count() == 80
    assert emails <= set(Customer.objects.values_list("email", flat=True))


def test_seeded_stock_matches_its_ledger_and_logins_work():
    call_command("seed_demo", customers=10, products=4, stores=2, verbosity=0)

    for level in StockLevel.objects.all():
        ledger = StockMovement.objects.filter(variant=level.variant, location=level.location)
        assert ledger.aggregate(total=Sum("on_hand_delta"))["total"] == level.on_hand
    vendeur = authenticate(username="vendeur", password="omni-vendeur")
    assert vendeur is not None
    assert list(vendeur.staff_profile.stores.values_list("code", flat=True)) == ["PAR01"]
    assert vendeur.has_perm("omni.use_store_screens")
    assert not vendeur.has_perm("omni.use_marketing_screens")
    marketing = authenticate(username="marketing", password="omni-marketing")
    assert marketing.email == "marketing@demo.omni.example"  # her "send me a test" lands here


def test_seed_refuses_negative_sizes():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--customers must be zero or more"):
        call_command("seed_demo", customers=-1, verbosity=0)
    assert Customer.objects.count() == 0


def test_demo_orders_through_the_orm_path_of_make_run_match_the_copy_path(monkeypatch):
    """`make run` seeds on SQLite, where the orders go through bulk_create instead of COPY."""
    from django.db import connections

    from omni import demo_orders
    from orders.models import Fulfilment, FulfilmentLine, Order

    call_command("seed_demo", customers=60, products=4, stores=2, orders=0, verbosity=0)
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")

    added = demo_orders.seed_orders(orders_per_customer=2, seed=1)
    again = demo_orders.seed_orders(orders_per_customer=2, seed=1)

    assert added == Order.objects.count() > 0
    assert again == 0
    assert FulfilmentLine.objects.count() >= Order.objects.count()
    # The orders keep their own dates over the year (bulk_create stamps auto_now_add fields).
    dates = Order.objects.aggregate(first=Min("placed_at"), last=Max("placed_at"))
    assert dates["last"] - dates["first"] > timedelta(days=180)
    assert not Fulfilment.objects.exclude(created_at=F("order__placed_at")).exists()


def test_demo_customers_have_marketing_consents_a_campaign_can_reach():
    from campaigns.services import campaign_launch
    from customers.models import ConsentEvent, ConsentState
    from tests.campaigns.factories import make_campaign

    call_command("seed_demo", customers=100, products=2, stores=1, orders=0, verbosity=0)
    states = ConsentState.objects.count()
    call_command("seed_demo", customers=100, products=2, stores=1, orders=0, verbosity=0)

    assert ConsentState.objects.count() == ConsentEvent.objects.count() == states
    emails = ConsentState.objects.filter(channel="email", granted=True).count()
    assert 50 <= emails <= 90  # about 70% of the customers opted in to e-mails
    assert ConsentState.objects.filter(channel="sms").exists()
    launched = campaign_launch(campaign=make_campaign(channels=("email",)))
    assert launched.messages == emails


def test_most_demo_customers_with_a_push_consent_have_a_device_a_push_can_reach():
    from campaigns.services import campaign_launch
    from customers.models import ConsentState, Device
    from tests.campaigns.factories import make_campaign

    call_command("seed_demo", customers=200, products=2, stores=1, orders=0, verbosity=0)
    devices = Device.objects.count()
    call_command("seed_demo", customers=200, products=2, stores=1, orders=0, verbosity=0)

    push = ConsentState.objects.filter(channel="push", granted=True)
    with_device = push.filter(customer__devices__active=True).distinct().count()
    assert Device.objects.count() == devices  # seeding again adds none
    assert 0 < with_device < push.count()  # some consented once and have no device left
    assert devices == with_device
    launched = campaign_launch(campaign=make_campaign(channels=("push",)))
    assert launched.messages == with_device
