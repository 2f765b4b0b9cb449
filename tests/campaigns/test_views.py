"""The results pages for marketers: permissions, figures in tables, charts, bounded queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import services
from omni import roles
from tests.campaigns.factories import make_campaign, order_placed
from tests.campaigns.tracked import sent_message, touch
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def attributed_campaign(name: str = "Relance", customers: int = 1):
    campaign = make_campaign(name=name)
    for _ in range(customers):
        message = sent_message(campaign=campaign, customer=CustomerFactory(), days_ago=3)
        touch(message, "click", days_ago=2)
        order = order_placed(days_ago=1, customer=message.customer, total=Decimal("42.50"))
        services.order_attribute(order=order)
    campaign.launched_at = message.created_at
    campaign.save(update_fields=["launched_at"])
    return campaign


@pytest.mark.parametrize(
    ("role", "status"), [(roles.MARKETER, 200), (roles.STORE_STAFF, 403), (None, 403)]
)
def test_only_marketers_open_the_results(client, make_staff, role, status):
    campaign = attributed_campaign()
    client.force_login(make_staff(role))

    overview = client.get(reverse("campaigns:results"))
    detail = client.get(reverse("campaigns:campaign-results", args=[campaign.pk]))

    assert (overview.status_code, detail.status_code) == (status, status)


def test_anonymous_users_go_to_the_login_page(client):
    response = client.get(reverse("campaigns:results"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_results_pages_show_charts_and_the_same_figures_in_tables(client, make_staff):
    campaign = attributed_campaign()
    client.force_login(make_staff(roles.MARKETER))

    overview = client.get(reverse("campaigns:results")).content.decode()
    detail = client.get(reverse("campaigns:campaign-results", args=[campaign.pk])).content.decode()

    assert overview.count("<svg") == 4
    assert reverse("campaigns:campaign-detail", args=[campaign.pk]) in detail  # back to it
    assert "Relance" in overview
    assert "42.50" in overview
    assert "<svg" in detail
    assert "42.50" in detail
    assert "This campaign had no holdout group." in detail


def test_the_results_are_listed_on_the_marketing_home(client, make_staff):
    client.force_login(make_staff(roles.MARKETER))

    page = client.get(reverse("marketing-home"))

    assert reverse("campaigns:results") in page.content.decode()


@pytest.mark.parametrize("customers", [1, 15])
def test_the_results_pages_take_a_fixed_number_of_queries(
    client, make_staff, django_assert_max_num_queries, customers
):
    campaigns = [attributed_campaign(f"C{index}", customers) for index in range(3)]
    client.force_login(make_staff(roles.MARKETER))

    with django_assert_max_num_queries(12):
        client.get(reverse("campaigns:results"))
    with django_assert_max_num_queries(14):
        client.get(reverse("campaigns:campaign-results", args=[campaigns[0].pk]))
