"""Export and erasure: everything held, then nothing personal, and never targeted again."""

import json

import pytest
from django.core.exceptions import ValidationError

from customers import erasure, selectors, services
from customers.exceptions import CustomerNotLive
from customers.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    ErasedIdentity,
    PrivacyRequest,
)
from customers.selectors import MessagePurpose
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

WEB = services.ConsentSource(channel=Channel.WEB, evidence="203.0.113.9")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pass-Word-1")


def test_export_holds_the_profile_and_every_related_row(admin_user):
    customer = CustomerFactory(first_name="Inès")
    services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)

    data = services.customer_export(customer=customer, performed_by=admin_user)

    json.dumps(data)  # JSON-ready as it is
    assert data["customer"]["first_name"] == "Inès"
    assert data["customer"]["email"] == customer.email
    assert [row["action"] for row in data["related"]["customers.ConsentEvent.customer"]] == [
        "granted"
    ]
    assert len(data["related"]["customers.ConsentState.customer"]) == 1
    audit = PrivacyRequest.objects.get()
    assert (audit.action, audit.customer, audit.performed_by) == ("export", customer, admin_user)


def test_erase_blanks_the_profile_calls_hooks_and_keeps_a_tombstone(admin_user):
    customer = CustomerFactory(first_name="Inès", birth_date="1990-05-01")
    services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)
    calls = []

    def hook(*, customer, performed_by):
        calls.append((customer.pk, performed_by))

    erasure.register_erase_hook(hook)
    try:
        services.customer_erase(
            customer=customer, performed_by=admin_user, reason="art. 17 request"
        )
    finally:
        erasure.unregister_erase_hook(hook)

    customer.refresh_from_db()
    assert calls == [(customer.pk, admin_user)]
    assert (customer.first_name, customer.email, customer.phone, customer.card_number) == (
        "",
        None,
        None,
        None,
    )
    assert (customer.birth_date, customer.suppressed) == (None, True)
    assert customer.erased_at is not None
    assert list(ConsentEvent.objects.values_list("evidence", flat=True)) == [""]
    assert not ConsentState.objects.exists()
    assert ErasedIdentity.objects.count() == 2  # email and phone
    assert PrivacyRequest.objects.get().reason == "art. 17 request"


def test_erase_needs_a_reason_and_a_live_profile(admin_user):
    customer = CustomerFactory()
    with pytest.raises(ValidationError):
        services.customer_erase(customer=customer, performed_by=admin_user, reason=" ")
    services.customer_erase(customer=customer, performed_by=admin_user, reason="request")

    with pytest.raises(CustomerNotLive):
        services.customer_erase(customer=customer, performed_by=admin_user, reason="again")

    assert PrivacyRequest.objects.count() == 1


def test_a_reimported_erased_person_is_flagged_and_never_reachable(admin_user):
    customer = CustomerFactory(email="ines@example.fr", phone="+33611223344")
    services.customer_erase(customer=customer, performed_by=admin_user, reason="request")

    again, created = services.customer_resolve(email="INES@example.fr", channel=Channel.ADMIN)
    services.consent_grant(customer=again, channel=ContactChannel.EMAIL, source=WEB)

    assert (created, again.suppressed) == (True, True)
    for purpose in MessagePurpose:
        assert selectors.reachable_channels(customer=again, purpose=purpose) == []
    assert not selectors.marketing_reachable(Customer.objects.all(), channel="email").exists()


def test_an_erased_phone_imported_around_the_services_is_still_unreachable(admin_user):
    customer = CustomerFactory(phone="+33611223344")
    services.customer_erase(customer=customer, performed_by=admin_user, reason="request")
    bulk = CustomerFactory(phone="+33611223344")  # e.g. a raw bulk import

    assert bulk.suppressed is False
    assert selectors.reachable_channels(customer=bulk, purpose=MessagePurpose.TRANSACTIONAL) == []
