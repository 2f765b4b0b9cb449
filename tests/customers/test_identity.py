"""Identity resolution: one profile per person, whichever key the channel knows."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from customers import services
from customers.exceptions import IdentityConflict
from customers.models import Channel, Customer
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_resolve_creates_a_profile_with_normalised_keys():
    customer, created = services.customer_resolve(
        email=" Lea.Petit@Example.FR ",
        phone="06 12 34 56 78",
        card_number="omni 0000000042",
        defaults=services.ProfileChanges(first_name="Léa", last_name="Petit"),
        channel=Channel.STORE,
    )

    assert created is True
    customer.refresh_from_db()
    assert (customer.email, customer.phone, customer.card_number) == (
        "lea.petit@example.fr",
        "+33612345678",
        "OMNI0000000042",
    )
    assert (customer.first_name, customer.created_channel) == ("Léa", Channel.STORE)


@pytest.mark.parametrize(
    "keys",
    [
        {"email": "CAMILLE@example.fr"},
        {"phone": "+33 6 11 22 33 44"},
        {"card_number": "omni0000000001"},
        {"email": "camille@example.fr", "phone": "0611223344"},
    ],
)
def test_resolve_finds_the_same_person_by_any_key(keys):
    existing = CustomerFactory(
        email="camille@example.fr", phone="+33611223344", card_number="OMNI0000000001"
    )

    customer, created = services.customer_resolve(**keys, channel=Channel.APP)

    assert (customer.pk, created) == (existing.pk, False)
    assert Customer.objects.count() == 1


def test_resolve_adds_the_keys_the_profile_lacks():
    existing = CustomerFactory(email="camille@example.fr", phone=None, card_number=None)

    customer, created = services.customer_resolve(
        email="camille@example.fr", phone="0611223344", channel=Channel.STORE
    )

    existing.refresh_from_db()
    assert (customer.pk, created, existing.phone) == (existing.pk, False, "+33611223344")


def test_keys_of_two_customers_raise_a_conflict_naming_both():
    by_email = CustomerFactory(email="camille@example.fr")
    by_phone = CustomerFactory(phone="+33611223344")

    with pytest.raises(IdentityConflict) as error:
        services.customer_resolve(
            email="camille@example.fr", phone="06 11 22 33 44", channel=Channel.WEB
        )

    assert error.value.extra["customer_ids"] == sorted([by_email.pk, by_phone.pk])
    assert Customer.objects.count() == 2


@pytest.mark.parametrize(
    ("keys", "field"),
    [({"email": "not-an-email"}, "email"), ({"phone": "12"}, "phone"), ({}, "__all__")],
)
def test_malformed_or_missing_keys_are_refused(keys, field):
    with pytest.raises(ValidationError) as error:
        services.customer_resolve(**keys, channel=Channel.WEB)

    assert field in error.value.message_dict
    assert Customer.objects.count() == 0


def test_update_refuses_a_card_held_by_another_customer_and_changes_nothing():
    other = CustomerFactory(card_number="OMNI0000000777")
    customer = CustomerFactory(first_name="Camille")

    with pytest.raises(ValidationError) as error:
        services.customer_update(
            customer=customer,
            changes=services.ProfileChanges(first_name="Cam", card_number="omni0000000777"),
        )

    assert list(error.value.message_dict) == ["card_number"]
    customer.refresh_from_db()
    assert customer.first_name == "Camille"
    assert other.card_number == "OMNI0000000777"


@pytest.mark.django_db(transaction=True)
def test_concurrent_resolutions_of_one_person_create_one_profile():
    barrier = threading.Barrier(4)
    results, errors = [], []

    def resolve():
        try:
            barrier.wait()
            results.append(
                services.customer_resolve(email="race@example.fr", channel=Channel.WEB)[0].pk
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1
    assert Customer.objects.filter(email="race@example.fr").count() == 1
