"""Automations: each trigger, steps and delays, once per trigger, leaving on conversion, the
rules of every message, and two beat schedulers at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import rules, tasks
from campaigns import services as automations
from campaigns.models import (
    Automation,
    AutomationStep,
    Campaign,
    Enrolment,
    EnrolmentStatus,
    Message,
    VariantContent,
)
from customers.satisfaction import read_survey_token
from inventory.models import StockEvent, StockEventKind
from orders.models import Cart, CartAction, CartEvent, CartStatus, FulfilmentKind
from tests.campaigns.automation_helpers import (
    deliveries,
    email,
    make_automation,
    send_due,
    sms,
    targets,
    tick,
)
from tests.campaigns.factories import SentMessageFactory, bought, consent, order_placed
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.factories import CartFactory, CartLineFactory
from tests.orders.order_factories import FulfilmentFactory

pytestmark = pytest.mark.django_db

HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _sink(settings, tmp_path):
    """Messages go to a file; no quiet hours, so these tests do not depend on the clock."""
    path = tmp_path / "outbox.jsonl"
    backend = "omni.messaging.backends.FileBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    settings.OMNI_MESSAGING_OPTIONS = {c: {"path": str(path)} for c in ("email", "sms", "push")}
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {"FR": dict.fromkeys(("email", "sms", "push"))}
    return path


@pytest.fixture
def sink(_sink):
    return _sink


def left_cart(customer, *, hours_ago: float, lines: int = 1) -> Cart:
    cart = CartFactory(customer=customer)
    for _line in range(lines):
        CartLineFactory(cart=cart)
    Cart.objects.filter(pk=cart.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    cart.refresh_from_db()
    return cart


# --- definitions --------------------------------------------------------------------------------


def test_an_automation_sends_as_its_own_campaign_with_a_variant_per_step():
    automation = make_automation(
        "welcome",
        sms("Bienvenue {{ first_name }}"),
        email("Merci {{ first_name }}", delay=2 * DAY, subject="Bonjour"),
    )

    campaign = automation.campaign
    steps = list(automation.steps.order_by("position"))
    assert (campaign.status, campaign.channels) == ("sent", ["email", "sms"])
    assert [(s.position, s.delay, s.variant.campaign_id) for s in steps] == [
        (1, dt.timedelta(), campaign.pk),
        (2, 2 * DAY, campaign.pk),
    ]
    contents = VariantContent.objects.filter(variant__campaign=campaign)
    assert sorted(contents.values_list("channel", "subject", "body")) == [
        ("email", "Bonjour", "Merci {{ first_name }}"),
        ("sms", "", "Bienvenue {{ first_name }}"),
    ]


@pytest.mark.parametrize(
    ("step", "field"),
    [
        (email("{{ first_name.__class__ }}"), "steps[0].email_body"),
        (email("{% if %}"), "steps[0].email_body"),
        (sms(""), "steps[0].channel"),
        (automations.StepSpec(channel="fax", sms_body="x"), "steps[0].channel"),
    ],
)
def test_a_bad_step_is_refused_and_nothing_is_written(step, field):
    with pytest.raises(ValidationError) as caught:
        make_automation("welcome", step)

    assert field in caught.value.message_dict
    assert (Automation.objects.count(), Campaign.objects.count()) == (0, 0)


# --- welcome --------------------------------------------------------------------------------------


def test_welcome_enrols_a_first_opt_in_once_however_many_ticks(sink):
    make_automation("welcome", sms("Bienvenue {{ first_name }}"))
    new = CustomerFactory(first_name="Inès")
    consent(new, "sms")
    no_consent = CustomerFactory()

    tick()
    tick()

    assert list(Enrolment.objects.values_list("customer_id", "trigger_key")) == [
        (new.pk, "welcome")
    ]
    assert [(d["to"], d["body"]) for d in deliveries(sink)] == [(new.phone, "Bienvenue Inès")]
    assert not Enrolment.objects.filter(customer=no_consent).exists()


def test_welcome_does_not_reach_back_before_the_automation_started():
    old = CustomerFactory()
    consent(old, "email")
    make_automation("welcome", email("Bienvenue"), starts_at=timezone.now() + HOUR)

    tick(timezone.now() + 2 * HOUR)

    assert not Enrolment.objects.exists()


def test_a_preferred_channel_step_uses_her_preferred_consented_channel(sink):
    make_automation(
        "welcome",
        automations.StepSpec(
            channel="preferred", email_subject="S", email_body="mail", sms_body="sms"
        ),
    )
    prefers_sms = CustomerFactory(preferred_channel="sms")
    consent(prefers_sms, "email", "sms")
    prefers_sms_without_consent = CustomerFactory(preferred_channel="sms")
    consent(prefers_sms_without_consent, "email")

    tick()

    assert sorted((d["to"], d["body"]) for d in deliveries(sink)) == sorted(
        [(prefers_sms.phone, "sms"), (prefers_sms_without_consent.email, "mail")]
    )


# --- abandoned cart -------------------------------------------------------------------------------


def test_a_cart_enrols_only_once_untouched_for_the_idle_time():
    make_automation("abandoned_cart", email("Votre panier"), idle_hours=4)
    customer = CustomerFactory()
    consent(customer, "email")
    cart = left_cart(customer, hours_ago=3)

    tick()
    assert not Enrolment.objects.exists()

    tick(timezone.now() + 2 * HOUR)
    enrolment = Enrolment.objects.get()
    assert (enrolment.customer_id, enrolment.cart_id) == (customer.pk, cart.pk)
    assert enrolment.event_at == cart.last_activity_at


def test_an_empty_or_anonymous_cart_or_one_ordered_since_enrols_nobody():
    make_automation("abandoned_cart", email("Votre panier"), idle_hours=4)
    empty = CartFactory()
    Cart.objects.filter(pk=empty.pk).update(last_activity_at=timezone.now() - 5 * HOUR)
    anonymous = CartFactory(customer=None)
    CartLineFactory(cart=anonymous)
    Cart.objects.filter(pk=anonymous.pk).update(last_activity_at=timezone.now() - 5 * HOUR)
    ordered = CustomerFactory()
    left_cart(ordered, hours_ago=5)
    order_placed(customer=ordered, days_ago=1 / 24)

    tick()

    assert not Enrolment.objects.exists()


def test_she_leaves_the_flow_when_she_orders_after_the_first_reminder(sink):
    make_automation(
        "abandoned_cart",
        email("Votre panier vous attend"),
        email("Dernier rappel", delay=DAY),
        idle_hours=4,
    )
    customer = CustomerFactory()
    consent(customer, "email")
    left_cart(customer, hours_ago=5)
    tick()
    order_placed(customer=customer, days_ago=0)

    tick(timezone.now() + 2 * DAY)

    enrolment = Enrolment.objects.get()
    assert (enrolment.status, enrolment.exit_reason) == (EnrolmentStatus.CONVERTED, "ordered")
    assert [d["body"] for d in deliveries(sink)] == ["Votre panier vous attend"]


@pytest.mark.parametrize("change", ["emptied", "touched", "converted"])
def test_the_cart_flow_stops_when_the_cart_no_longer_waits(sink, change):
    make_automation("abandoned_cart", email("Rappel 1"), email("Rappel 2", delay=DAY), idle_hours=4)
    customer = CustomerFactory()
    consent(customer, "email")
    cart = left_cart(customer, hours_ago=5)
    tick()
    if change == "emptied":
        cart.lines.all().delete()
    elif change == "touched":
        # She came back an hour before the second reminder was due.
        Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() + 2 * DAY - HOUR)
    else:
        Cart.objects.filter(pk=cart.pk).update(status=CartStatus.CONVERTED)

    tick(timezone.now() + 2 * DAY)

    enrolment = Enrolment.objects.get()
    reason = {"emptied": "cart_emptied", "touched": "cart_changed", "converted": "cart_emptied"}
    assert (enrolment.status, enrolment.exit_reason) == (EnrolmentStatus.LEFT, reason[change])
    assert [d["body"] for d in deliveries(sink)] == ["Rappel 1"]


def test_a_cart_left_again_after_being_touched_is_a_new_trigger(sink):
    make_automation("abandoned_cart", email("Rappel"), idle_hours=4)
    customer = CustomerFactory()
    consent(customer, "email")
    cart = left_cart(customer, hours_ago=10)
    tick()
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - 5 * HOUR)

    tick()

    assert Enrolment.objects.filter(cart=cart).count() == 2
    assert len(deliveries(sink)) == 2


# --- the rules of every message -------------------------------------------------------------------


def test_the_frequency_cap_and_an_unsubscribe_apply_to_steps(settings, sink):
    settings.OMNI_CAMPAIGN_FREQUENCY_CAP = (1, 7)
    make_automation("abandoned_cart", email("Rappel"), idle_hours=4)
    capped = CustomerFactory()
    consent(capped, "email")
    left_cart(capped, hours_ago=5)
    other = Campaign.objects.get()  # any campaign's message counts against the cap
    SentMessageFactory(campaign=other, customer=capped, at=timezone.now() - DAY)
    unsubscribed = CustomerFactory()
    consent(unsubscribed, "email", granted=False)
    left_cart(unsubscribed, hours_ago=5)

    tick()

    assert deliveries(sink) == []
    assert Enrolment.objects.filter(status=EnrolmentStatus.COMPLETED).count() == 2


def test_a_step_in_quiet_hours_waits_for_the_morning(settings, sink):
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {
        "FR": {"sms": rules.QuietHours(dt.time(8), dt.time(20), True)}
    }
    make_automation("welcome", sms("Bienvenue"))
    customer = CustomerFactory()
    consent(customer, "sms")
    sunday = dt.datetime(2026, 3, 15, 11, tzinfo=dt.UTC)
    Enrolment.objects.all().delete()
    from customers.models import ConsentEvent

    ConsentEvent.objects.filter(customer=customer).update(created_at=sunday - HOUR)
    Automation.objects.update(starts_at=sunday - DAY)

    automations.automations_enrol(now=sunday)
    automations.automation_steps_run(now=sunday)

    message = Message.objects.get(customer=customer)
    assert (message.status, message.not_before) == ("pending", sunday + DAY - 4 * HOUR)


# --- satisfaction, back in stock, win-back -------------------------------------------------------


def test_the_survey_goes_n_days_after_collection_with_a_valid_link(sink):
    make_automation(
        "satisfaction",
        email("Votre avis sur {{ store.name }} : {{ survey_url }}", delay=3 * DAY),
        exit_on_order=False,
    )
    store = StoreFactory(name="Omni Rivoli")
    customer = CustomerFactory(preferred_store=store)
    consent(customer, "email")
    order = order_placed(customer=customer, days_ago=2, channel="web")
    collected = timezone.now() - DAY
    FulfilmentFactory(
        order=order,
        kind=FulfilmentKind.CLICK_AND_COLLECT,
        status="collected",
        location=store,
        collected_at=collected,
    )

    tick()
    assert deliveries(sink) == []
    tick(collected + 3 * DAY + HOUR)

    (sent,) = deliveries(sink)
    (link,) = [url for url in targets(sent["body"]) if "/survey/" in url]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert read_survey_token(token) == (customer.pk, order.number, store.pk, "web")
    assert Enrolment.objects.get().status == EnrolmentStatus.COMPLETED


def test_back_in_stock_reaches_who_wanted_the_variant_and_has_not_bought_it(sink):
    make_automation("back_in_stock", email("{{ wanted_product.name }} est de retour"))
    dress = VariantFactory(name="Robe Lin M")
    store = StoreFactory()
    wanted = CustomerFactory()
    bought_since = CustomerFactory()
    for customer in (wanted, bought_since):
        consent(customer, "email")
        cart = CartFactory(customer=customer, status=CartStatus.CONVERTED)
        CartEvent.objects.create(cart=cart, action=CartAction.ADD, channel="web", variant=dress)
    bought(customer=bought_since, variant=dress, days_ago=0)
    CustomerFactory()  # never wanted it
    for _location in range(2):  # back at two locations: one alert
        StockEvent.objects.create(
            kind=StockEventKind.BACK_IN_STOCK, variant=dress, location=store, available=3
        )
        store = StoreFactory()

    tick()
    tick()

    assert [(d["to"], d["body"]) for d in deliveries(sink)] == [
        (wanted.email, "Robe Lin M est de retour")
    ]


def test_win_back_after_n_days_without_an_order_once_per_lapse(sink):
    make_automation("win_back", email("Vous nous manquez"), idle_days=90)
    lapsed = CustomerFactory()
    recent = CustomerFactory()
    for customer in (lapsed, recent):
        consent(customer, "email")
    last = order_placed(customer=lapsed, days_ago=92)
    order_placed(customer=lapsed, days_ago=200)
    order_placed(customer=recent, days_ago=92)
    order_placed(customer=recent, days_ago=10)

    tick()
    tick()

    assert list(Enrolment.objects.values_list("customer_id", "trigger_key", "order_id")) == [
        (lapsed.pk, f"winback-{last.pk}", last.pk)
    ]
    assert [d["to"] for d in deliveries(sink)] == [lapsed.email]


# --- two schedulers -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_beat_scheduler_sends_nothing_twice(sink, monkeypatch):
    monkeypatch.setattr(tasks.dispatch_campaign, "delay", lambda **kwargs: None)
    make_automation(
        "abandoned_cart", email("Rappel {{ first_name }}"), email("Encore", delay=DAY), idle_hours=4
    )
    make_automation("welcome", sms("Bienvenue"), name="Bienvenue")
    customers = [CustomerFactory() for _customer in range(30)]
    for customer in customers:
        consent(customer, "email", "sms")
        left_cart(customer, hours_ago=5)
    barrier = threading.Barrier(2)
    errors = []

    def scheduler(now: dt.datetime | None) -> None:
        try:
            barrier.wait()
            if now is None:
                tasks.enrol_automations()
                tasks.run_automation_steps()
            else:
                automations.automations_enrol(now=now)
                automations.automation_steps_run(now=now)
            send_due(now)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    for now in (None, timezone.now() + 2 * DAY):
        threads = [threading.Thread(target=scheduler, args=(now,)) for _thread in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    sent = Counter(d["key"] for d in deliveries(sink))
    assert set(sent.values()) == {1}
    assert len(sent) == 30 * 3  # the welcome SMS and the two cart reminders, each once
    assert Enrolment.objects.count() == 60


# --- admin ----------------------------------------------------------------------------------------


def test_the_admin_shows_steps_inline_and_enrolments_read_only(admin_client):
    automation = make_automation("welcome", sms("Bienvenue"))
    customer = CustomerFactory()
    consent(customer, "sms")
    tick()
    enrolment = Enrolment.objects.get()

    page = admin_client.get(reverse("admin:campaigns_automation_change", args=[automation.pk]))
    listing = admin_client.get(reverse("admin:campaigns_enrolment_changelist"))
    detail = admin_client.get(reverse("admin:campaigns_enrolment_change", args=[enrolment.pk]))

    assert page.status_code == listing.status_code == detail.status_code == 200
    assert b"Bienvenue" in page.content
    assert b"steps-0-sms_body" in page.content
    assert b'name="_save"' not in detail.content


def test_a_step_changed_in_the_admin_reaches_the_campaign_content(admin_client):
    automation = make_automation("welcome", sms("Bienvenue"))
    step = AutomationStep.objects.get()
    url = reverse("admin:campaigns_automation_change", args=[automation.pk])
    form = {
        "name": automation.name,
        "trigger": "welcome",
        "is_active": "on",
        "starts_at_0": "2026-01-01",
        "starts_at_1": "00:00:00",
        "idle_hours": "4",
        "idle_days": "90",
        "exit_on_order": "on",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "1",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-id": str(step.pk),
        "steps-0-automation": str(automation.pk),
        "steps-0-position": "1",
        "steps-0-delay": "00:00:00",
        "steps-0-channel": "sms",
        "steps-0-sms_body": "Bienvenue chez Omni {{ first_name }}",
    }

    refused = admin_client.post(url, {**form, "steps-0-sms_body": "{{ first_name.delete }}"})
    saved = admin_client.post(url, form)

    assert refused.status_code == 200
    assert saved.status_code == 302
    assert VariantContent.objects.get(variant=step.variant_id).body == (
        "Bienvenue chez Omni {{ first_name }}"
    )
