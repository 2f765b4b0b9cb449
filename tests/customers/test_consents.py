"""Consents: append-only history, current state, who may be reached for what."""

import pytest

from customers import selectors, services
from customers.exceptions import NoAddress
from customers.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    DoNotContactReason,
    OptInLevel,
)
from customers.selectors import MessagePurpose
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory

pytestmark = pytest.mark.django_db

WEB = services.ConsentSource(channel=Channel.WEB, text_version="cgv-2026-01")


def test_each_decision_appends_an_event_and_moves_the_current_state(django_user_model):
    store = StoreFactory()
    seller = django_user_model.objects.create_user("seller")
    customer = CustomerFactory()

    services.consent_grant(
        customer=customer,
        channel=ContactChannel.EMAIL,
        source=services.ConsentSource(channel=Channel.STORE, store=store, text_version="v3"),
        opt_in_level=OptInLevel.CONFIRMED,
        performed_by=seller,
    )
    first = ConsentEvent.objects.get()
    state = services.consent_withdraw(
        customer=customer,
        channel=ContactChannel.EMAIL,
        source=WEB,
        reason=DoNotContactReason.COMPLAINT,
    )

    events = list(ConsentEvent.objects.order_by("pk").values_list("action", "reason"))
    assert events == [("granted", ""), ("withdrawn", "complaint")]
    first.refresh_from_db()
    assert (first.store, first.text_version, first.performed_by) == (store, "v3", seller)
    assert ConsentState.objects.get() == state
    assert (state.granted, state.reason, state.last_event.action) == (
        False,
        "complaint",
        "withdrawn",
    )


def test_email_consent_needs_an_email_address():
    customer = CustomerFactory(email=None)

    with pytest.raises(NoAddress):
        services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)

    assert not ConsentEvent.objects.exists()


def test_marketing_needs_a_grant_transactional_only_an_address():
    customer = CustomerFactory(preferred_channel=ContactChannel.SMS)
    services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)

    marketing = selectors.reachable_channels(customer=customer, purpose=MessagePurpose.MARKETING)
    transactional = selectors.reachable_channels(
        customer=customer, purpose=MessagePurpose.TRANSACTIONAL
    )

    assert marketing == ["email"]
    assert transactional == ["sms", "email"]  # preferred channel first; no push device known


@pytest.mark.parametrize(
    ("reason", "transactional"),
    [
        (DoNotContactReason.UNSUBSCRIBED, ["email", "sms"]),
        (DoNotContactReason.BOUNCED, ["sms"]),
        (DoNotContactReason.COMPLAINT, ["sms"]),
    ],
)
def test_only_bounces_and_complaints_stop_order_updates(reason, transactional):
    customer = CustomerFactory()
    services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)
    services.consent_withdraw(
        customer=customer, channel=ContactChannel.EMAIL, source=WEB, reason=reason
    )

    assert selectors.reachable_channels(customer=customer, purpose=MessagePurpose.MARKETING) == []
    assert (
        selectors.reachable_channels(customer=customer, purpose=MessagePurpose.TRANSACTIONAL)
        == transactional
    )


def test_marketing_reachable_filters_a_queryset_in_the_database(django_assert_num_queries):
    granted, withdrawn, never = CustomerFactory(), CustomerFactory(), CustomerFactory()
    suppressed = CustomerFactory(suppressed=True)
    for customer in (granted, withdrawn, suppressed):
        services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)
    services.consent_withdraw(customer=withdrawn, channel=ContactChannel.EMAIL, source=WEB)

    with django_assert_num_queries(1):
        found = list(selectors.marketing_reachable(Customer.objects.all(), channel="email"))

    assert found == [granted]
    assert list(selectors.marketing_reachable(Customer.objects.all(), channel="sms")) == []
    assert never not in found
