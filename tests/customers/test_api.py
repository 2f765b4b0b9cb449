"""The customer-scoped API: her profile and consents, and nobody else's."""

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.auth import customer_token
from customers.models import ConsentEvent, Customer
from omni import roles
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}")
    return client


def test_the_site_account_exchanges_a_customer_for_a_token(make_staff):
    site = make_staff(roles.ECOMMERCE_SITE)
    customer = CustomerFactory(email="lea@example.fr")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=site).key}")

    response = client.post(reverse("v1:customer-token"), {"email": "LEA@example.fr"})

    assert response.status_code == 201
    assert (response.json()["customer_id"], response.json()["expires_in"]) == (customer.pk, 86400)
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Customer {response.json()['token']}")
    assert me.get(reverse("v1:me")).json()["email"] == "lea@example.fr"


@pytest.mark.parametrize("role", [roles.STORE_STAFF, roles.MARKETER, None])
def test_other_accounts_cannot_issue_customer_tokens(client, make_staff, role):
    customer = CustomerFactory()
    client.force_login(make_staff(role))

    response = client.post(reverse("v1:customer-token"), {"customer_id": customer.pk})

    assert response.status_code == 403


def test_a_customer_reads_and_changes_only_her_own_profile():
    lea, other = CustomerFactory(first_name="Léa"), CustomerFactory(first_name="Inès")
    client = client_for(lea)

    response = client.patch(reverse("v1:me"), {"first_name": "Léa-Rose", "id": other.pk})

    assert response.status_code == 200
    assert response.json()["id"] == lea.pk
    other.refresh_from_db()
    lea.refresh_from_db()
    assert (lea.first_name, other.first_name) == ("Léa-Rose", "Inès")


def test_each_customer_sees_her_own_consents():
    lea, other = CustomerFactory(), CustomerFactory()

    granted = client_for(lea).post(
        reverse("v1:me-consents"), {"channel": "email", "action": "grant"}
    )
    seen_by_other = client_for(other).get(reverse("v1:me-consents")).json()

    assert granted.status_code == 200
    assert [c["granted"] for c in granted.json()] == [True, False, False]
    assert [c["granted"] for c in seen_by_other] == [False, False, False]
    assert ConsentEvent.objects.get().customer == lea


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "06 12"}, "phone"),
        ({"card_number": "OMNI0000000777"}, "card_number"),
    ],
)
def test_bad_profile_input_is_a_400_with_field_messages_and_changes_nothing(payload, field):
    CustomerFactory(card_number="OMNI0000000777")
    lea = CustomerFactory(first_name="Léa")

    response = client_for(lea).patch(reverse("v1:me"), {**payload, "first_name": "X"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    lea.refresh_from_db()
    assert lea.first_name == "Léa"


def test_the_phone_is_stored_in_e164():
    lea = CustomerFactory()

    response = client_for(lea).patch(reverse("v1:me"), {"phone": "06 12 34 56 78"})

    assert response.json()["phone"] == "+33612345678"


@pytest.mark.parametrize("header", ["Customer forged.token", "Customer", "Token nope"])
def test_bad_credentials_are_refused(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get(reverse("v1:me")).status_code == 401


def test_an_expired_token_is_refused():
    lea = CustomerFactory()
    client = client_for(lea)

    with override_settings(OMNI_CUSTOMER_TOKEN_MAX_AGE=-1):
        response = client.get(reverse("v1:me"))

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_staff_sessions_do_not_reach_the_customer_endpoints(client, make_staff):
    client.force_login(make_staff(roles.ADMINISTRATOR))

    assert client.get(reverse("v1:me")).status_code in (401, 403)


def test_a_token_of_a_merged_profile_stops_working():
    lea = CustomerFactory()
    token = customer_token(customer=lea)
    Customer.objects.filter(pk=lea.pk).update(merged_into=CustomerFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {token}")

    assert client.get(reverse("v1:me")).status_code == 401


def test_the_endpoints_are_in_the_schema(client):
    schema = client.get(reverse("schema")).content.decode()

    for path in ("/api/v1/me/", "/api/v1/me/consents/", "/api/v1/auth/customer-token/"):
        assert path in schema
    assert "customerToken" in schema


def test_a_token_signed_for_another_purpose_is_refused():
    lea = CustomerFactory()
    token = signing.TimestampSigner(salt="another").sign_object({"customer": lea.pk})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {token}")

    assert client.get(reverse("v1:me")).status_code == 401
