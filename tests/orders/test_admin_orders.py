"""The orders admin: read-only pages with every part inline; actions through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from orders.models import FulfilmentStatus, OrderStatus
from orders.services import pickup_collect, pickup_mark_ready
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.order_factories import place_order, stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def dress():
    return VariantFactory()


def an_order(store, dress):
    stock_up(dress, store, 3)
    return place_order(lines=[(dress, 1)], location=store)


def test_the_order_page_shows_lines_fulfilments_and_history(admin_client, store, dress):
    order = an_order(store, dress)

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert order.fulfilments.get().reference in content
    assert order.lines.get().sku in content
    assert b'name="number"' not in response.content  # read-only


def test_the_list_runs_a_bounded_number_of_queries(
    admin_client, store, dress, django_assert_max_num_queries
):
    for _index in range(10):
        an_order(store, dress)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 200


def test_admin_actions_go_through_the_services(admin_client, admin_user, store, dress):
    ready = an_order(store, dress)
    cancelled = an_order(store, dress)
    url = reverse("admin:orders_order_changelist")

    admin_client.post(url, {"action": "mark_ready", "_selected_action": [ready.pk]})
    admin_client.post(url, {"action": "cancel_orders", "_selected_action": [cancelled.pk]})

    fulfilment = ready.fulfilments.get()
    assert fulfilment.status == FulfilmentStatus.READY
    assert fulfilment.transitions.get().performed_by == admin_user
    cancelled.refresh_from_db()
    assert cancelled.status == OrderStatus.CANCELLED
    assert StockLevel.objects.get(variant=dress, location=store).reserved == 1


def test_a_refused_admin_action_is_an_error_message(admin_client, admin_user, store, dress):
    order = an_order(store, dress)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=admin_user)
    pickup_collect(fulfilment=fulfilment, performed_by=admin_user, identity_checked=True)

    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_orders", "_selected_action": [order.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        f"{order.number}: Part of this order was already collected or shipped: it cannot be "
        "cancelled."
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
