"""The admin for service agents: search, merge with a chosen winner, export, erase."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from customers.models import Customer, CustomerMerge, PrivacyRequest
from omni import roles
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:customers_customer_changelist"


@pytest.fixture
def agent(client, make_staff):
    user = make_staff(roles.SERVICE_AGENT, is_staff=True)
    client.force_login(user)
    return user


def test_an_agent_searches_customers_by_phone(client, agent):
    lea = CustomerFactory(phone="+33612345678")
    CustomerFactory()

    response = client.get(reverse(CHANGELIST), {"q": "06 12 34 56 78"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [lea]
    assert client.get(reverse("admin:customers_customer_change", args=[lea.pk])).status_code == 200


def test_an_agent_merges_two_profiles_choosing_the_winner(client, agent):
    first, second = CustomerFactory(), CustomerFactory()
    selected = {"action": "merge_action", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}

    confirm = client.post(reverse(CHANGELIST), selected)
    done = client.post(
        reverse(CHANGELIST), {**selected, "apply": "1", "winner": second.pk, "reason": "twins? no"}
    )

    assert confirm.status_code == 200
    assert "customers/admin/merge.html" in [t.name for t in confirm.templates]
    assert done.status_code == 302
    merge = CustomerMerge.objects.get()
    assert (merge.winner, merge.loser, merge.performed_by) == (second, first, agent)


def test_agents_cannot_export_or_erase(client, agent):
    lea = CustomerFactory()

    response = client.post(
        reverse(CHANGELIST), {"action": "erase_action", ACTION_CHECKBOX_NAME: [lea.pk]}
    )

    assert response.status_code in (200, 302)
    assert not PrivacyRequest.objects.exists()


def test_an_administrator_exports_then_erases(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x-Y-z-123"))
    lea = CustomerFactory(first_name="Léa")
    selected = {ACTION_CHECKBOX_NAME: [lea.pk]}

    export = client.post(reverse(CHANGELIST), {**selected, "action": "export_action"})
    erase = client.post(
        reverse(CHANGELIST),
        {**selected, "action": "erase_action", "apply": "1", "reason": "request of 2026-03-01"},
    )

    assert json.loads(export.content)["customers"][0]["customer"]["first_name"] == "Léa"
    assert erase.status_code == 302
    assert Customer.objects.get(pk=lea.pk).erased_at is not None
    assert list(PrivacyRequest.objects.order_by("pk").values_list("action", flat=True)) == [
        "export",
        "erase",
    ]
