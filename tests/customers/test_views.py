"""Staff screens (search, customer page) and the unsubscribe page."""

import time
from unittest import mock

import pytest
from django.urls import reverse

from customers import services
from customers.links import unsubscribe_path
from customers.models import Channel, ConsentEvent, ConsentState, ContactChannel
from omni import roles
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [roles.STORE_STAFF, roles.SERVICE_AGENT, roles.ADMINISTRATOR])
def test_store_staff_and_agents_search_and_open_a_customer(client, make_staff, role):
    lea = CustomerFactory(first_name="Léa", last_name="Dupont", phone="+33612345678")
    client.force_login(make_staff(role))

    results = client.get(reverse("customers:search"), {"q": "06 12 34 56 78"})
    page = client.get(reverse("customers:detail", args=[lea.pk]))

    assert results.status_code == 200
    assert results.context["results"] == [lea]
    assert reverse("customers:detail", args=[lea.pk]) in results.content.decode()
    assert page.status_code == 200


@pytest.mark.parametrize("role", [roles.MARKETER, roles.ECOMMERCE_SITE])
def test_other_roles_get_403(client, make_staff, role):
    lea = CustomerFactory()
    client.force_login(make_staff(role))

    assert client.get(reverse("customers:search")).status_code == 403
    assert client.get(reverse("customers:detail", args=[lea.pk])).status_code == 403


def test_anonymous_users_go_to_the_login_page(client):
    response = client.get(reverse("customers:search"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_search_screen_is_listed_on_both_areas(client, make_staff):
    client.force_login(make_staff(roles.STORE_STAFF))
    store = client.get(reverse("store-home")).content.decode()
    client.force_login(make_staff(roles.SERVICE_AGENT))
    service = client.get(reverse("service-home")).content.decode()

    assert reverse("customers:search") in store
    assert reverse("customers:search") in service


def test_the_customer_page_shows_consents_in_few_queries(
    client, make_staff, django_assert_max_num_queries
):
    lea = CustomerFactory()
    for _ in range(15):
        services.consent_grant(
            customer=lea,
            channel=ContactChannel.EMAIL,
            source=services.ConsentSource(channel=Channel.WEB, text_version="v2"),
        )
    client.force_login(make_staff(roles.STORE_STAFF))

    with django_assert_max_num_queries(12):
        response = client.get(reverse("customers:detail", args=[lea.pk]))

    assert "v2" in response.content.decode()


def test_unsubscribe_get_confirms_and_post_withdraws(client):
    lea = CustomerFactory()
    services.consent_grant(
        customer=lea, channel=ContactChannel.EMAIL, source=services.ConsentSource(channel="web")
    )
    path = unsubscribe_path(customer=lea, channel=ContactChannel.EMAIL)

    page = client.get(path)
    assert page.status_code == 200
    assert ConsentState.objects.get().granted is True

    done = client.post(path)

    assert done.status_code == 200
    state = ConsentState.objects.get()
    assert (state.granted, state.reason) == (False, "unsubscribed")


def test_one_click_unsubscribe_needs_no_csrf_token():
    from django.test import Client

    lea = CustomerFactory()
    path = unsubscribe_path(customer=lea, channel=ContactChannel.SMS)

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert ConsentEvent.objects.get().reason == "unsubscribed"


def test_a_forged_link_is_a_400_page_and_changes_nothing(client):
    lea = CustomerFactory()
    path = unsubscribe_path(customer=lea, channel=ContactChannel.EMAIL)
    forged = path.replace(path.rstrip("/").rsplit(":", 1)[-1], "AAAAforged")

    for response in (client.get(forged), client.post(forged)):
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_an_expired_link_is_a_400_page(client):
    lea = CustomerFactory()
    long_ago = time.time() - 500 * 86_400
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        path = unsubscribe_path(customer=lea, channel=ContactChannel.EMAIL)

    response = client.post(path)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_the_cart_panel_loads_for_store_staff_and_links_agents_to_the_360_view(client, make_staff):
    customer = CustomerFactory()
    cart_url = f"/store/customers/{customer.pk}/cart/"

    client.force_login(make_staff(roles.STORE_STAFF))
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f'hx-get="{cart_url}"' in page
    assert 'hx-trigger="load"' in page

    client.force_login(make_staff(roles.SERVICE_AGENT))
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert cart_url not in page  # a store screen: the agent would only get a 403 there
    assert reverse("customers:customer-360", args=[customer.pk]) in page
