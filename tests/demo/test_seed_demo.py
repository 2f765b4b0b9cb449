"""Demo data: realistic, linked together, and idempotent for a given seed."""

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F, Max, Min, Sum

from customers.models import Customer
from inventory.models import Location, StockLevel, StockMovement, Variant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings) -> Iterator[Path]:
    """The demo campaign's sends go to a file under VAR_DIR: not the checkout's var/.

    A tempfile folder, not tmp_path: tests/omni/test_run_all.py runs tests/demo on an embedded
    PostgreSQL whose data lives under pytest's temporary root, and a session that asks for
    tmp_path makes that root 0700, locking the server (another system user) out of its own data
    directory: its next checkpoint PANICs.
    """
    with tempfile.TemporaryDirectory(prefix="omni-seed-demo-") as folder:
        settings.VAR_DIR = Path(folder)
        yield Path(folder)


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


def test_demo_orders_span_the_year_with_their_own_dates_and_a_second_seed_adds_none():
    from demo import orders as demo_orders
    from orders.models import Fulfilment, FulfilmentLine, Order

    call_command("seed_demo", customers=60, products=4, stores=2, orders=0, verbosity=0)

    added = demo_orders.seed_orders(orders_per_customer=2, seed=1)
    again = demo_orders.seed_orders(orders_per_customer=2, seed=1)

    assert added == Order.objects.count() > 0
    assert again == 0
    assert FulfilmentLine.objects.count() >= Order.objects.count()
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


def campaign_snapshot():
    from django_celery_beat.models import PeriodicTask

    from campaigns.models import Attribution, Campaign, Message, Segment, TrackingEvent
    from orders.models import Order

    return {
        model.__name__: model.objects.count()
        for model in (Segment, Campaign, Message, TrackingEvent, Attribution, Order, PeriodicTask)
    }


def test_the_demo_has_a_sent_a_scheduled_and_a_draft_campaign_and_reseeding_adds_none(
    client, settings, var_dir
):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaigns.models import Attribution, Campaign, Message, MessageStatus
    from demo import campaigns as demo_campaigns

    # Whatever the settings name, the seed's sends stay on the machine (here: a provider that
    # cannot be reached would fail or retry them).
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(
        ("email", "sms", "push"), "omni.messaging.backends.HttpBackend"
    )
    settings.OMNI_MESSAGING_OPTIONS = {
        channel: {"url": "http://127.0.0.1:9/unreachable", "token": "x"}
        for channel in ("email", "sms", "push")
    }
    call_command("seed_demo", customers=150, products=6, stores=2, orders=3, verbosity=0)
    first = campaign_snapshot()

    call_command("seed_demo", customers=150, products=6, stores=2, orders=3, verbosity=0)

    assert campaign_snapshot() == first
    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert statuses == {
        demo_campaigns.SENT: "sent",
        demo_campaigns.SCHEDULED: "scheduled",
        demo_campaigns.DRAFT: "draft",
    }
    sent = Campaign.objects.get(name=demo_campaigns.SENT)
    messages = Message.objects.filter(campaign=sent)
    delivered = messages.filter(status=MessageStatus.SENT)
    assert delivered.count() > 0
    assert not messages.filter(status__in=["pending", "sending", "failed", "skipped"]).exists()
    outbox = (var_dir / "messages" / "demo-seed.jsonl").read_text().splitlines()
    assert len(outbox) == delivered.count()  # each sent once, into the file
    # Sent a few days ago, and read after that.
    days_ago = (timezone.now() - sent.launched_at).days
    assert 2 <= days_ago <= demo_campaigns.SENT_DAYS_AGO
    assert not delivered.exclude(sent_at__gte=sent.launched_at, sent_at__lt=timezone.now()).exists()
    assert not delivered.filter(opened_at__lt=sent.launched_at).exists()
    assert delivered.filter(opened_at__isnull=False).exists()
    assert Attribution.objects.filter(campaign=sent, is_last_touch=True, touch="code").exists()
    scheduled = Campaign.objects.get(name=demo_campaigns.SCHEDULED)
    assert scheduled.periodic_task.enabled
    assert scheduled.periodic_task.clocked.clocked_time > timezone.now()

    client.force_login(get_user_model().objects.get(username="marketing"))
    page = client.get(f"/marketing/campaigns/{sent.pk}/results/")

    assert page.status_code == 200
    total = page.context["figures"].total
    assert total.sent == delivered.count()
    assert total.opened == delivered.filter(opened_at__isnull=False).count()
    assert total.converted >= 1
    assert total.revenue > 0
    listed = client.get("/marketing/campaigns/")
    assert listed.status_code == 200
    for name in statuses:
        assert name in listed.content.decode()
