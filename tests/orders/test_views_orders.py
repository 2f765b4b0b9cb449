"""Store screens of orders: pickup queue, order page and its actions, returns desk, till."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockLevel
from omni import roles
from orders.models import (
    Cart,
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Order,
    OrderStatus,
    Payment,
    Return,
)
from orders.services import pickup_collect, pickup_mark_ready
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.order_factories import place_order, stock_up

pytestmark = pytest.mark.django_db

S = FulfilmentStatus


@pytest.fixture
def paris():
    return StoreFactory(code="PAR01", name="Paris Rivoli")


@pytest.fixture
def lyon():
    return StoreFactory(code="LYO01", name="Lyon Bellecour")


@pytest.fixture
def dress():
    return VariantFactory(sku="ROBE-38", price=Decimal("89.00"))


@pytest.fixture
def ines(make_staff, paris):
    return make_staff(roles.STORE_STAFF, stores=[paris])


@pytest.fixture
def client_paris(client, ines):
    client.force_login(ines)
    return client


def pickup_at(store, variant, quantity=1, **fields):
    stock_up(variant, store, 5)
    return place_order(lines=[(variant, quantity)], location=store, **fields)


def action_url(fulfilment, action):
    return reverse("orders:fulfilment-action", kwargs={"pk": fulfilment.pk, "action": action})


def detail_url(order):
    return reverse("orders:order-detail", kwargs={"number": order.number})


def test_the_pickup_queue_counts_and_sorts_the_stores_pickups(client_paris, paris, dress, ines):
    pickup_at(paris, dress)
    ready = pickup_at(paris, dress).fulfilments.get()
    pickup_mark_ready(fulfilment=ready, performed_by=ines)
    late = pickup_at(paris, dress).fulfilments.get()
    pickup_mark_ready(fulfilment=late, performed_by=ines)
    Fulfilment.objects.filter(pk=late.pk).update(
        pickup_deadline=timezone.now() - timedelta(hours=1)
    )

    response = client_paris.get(reverse("orders:pickup-queue"))

    assert response.status_code == 200
    queue = response.context["queue"]
    assert queue.counts == {"to_prepare": 1, "ready": 1, "overdue": 1, "to_ship": 0}
    assert [f.pk for f in queue.ready] == [ready.pk]
    assert [f.pk for f in queue.overdue] == [late.pk]
    assert ready.order.number in response.content.decode()


@pytest.mark.parametrize("pickups", [1, 25])
def test_the_pickup_queue_runs_a_bounded_number_of_queries(
    client_paris, paris, dress, pickups, django_assert_max_num_queries
):
    stock_up(dress, paris, pickups)
    for _index in range(pickups):
        place_order(lines=[(dress, 1)], location=paris)

    with django_assert_max_num_queries(8):
        response = client_paris.get(reverse("orders:pickup-queue"))

    assert response.context["queue"].counts["to_prepare"] == pickups


def test_staff_of_another_store_can_neither_see_nor_change_its_pickups(
    client, make_staff, paris, lyon, dress, ines
):
    order = pickup_at(paris, dress)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=ines)
    lyon_staff = make_staff(roles.STORE_STAFF, stores=[lyon])
    client.force_login(lyon_staff)

    assert client.get(detail_url(order)).status_code == 404
    assert client.get(reverse("orders:pickup-queue") + "?store=PAR01").status_code == 403
    queue = client.get(reverse("orders:pickup-queue")).context["queue"]
    assert queue.counts["ready"] == 0
    response = client.post(action_url(fulfilment, "collect"), {"code": "482913"})
    assert response.status_code == 404
    response = client.post(reverse("orders:order-cancel", kwargs={"number": order.number}))
    assert response.status_code == 404

    fulfilment.refresh_from_db()
    assert fulfilment.status == S.READY
    assert StockLevel.objects.get(variant=dress, location=paris).reserved == 1


def test_screens_need_the_store_permission(client, make_staff):
    client.force_login(make_staff(roles.MARKETER))

    for name in ("orders:pickup-queue", "orders:returns-desk", "orders:till"):
        assert client.get(reverse(name)).status_code == 403


def test_the_order_page_offers_only_the_allowed_actions(client_paris, paris, dress):
    order = pickup_at(paris, dress)
    fulfilment = order.fulfilments.get()

    response = client_paris.get(detail_url(order))

    assert response.status_code == 200
    ((shown, actions),) = response.context["fulfilments"]
    assert shown == fulfilment
    assert [action.name for action in actions] == ["ready", "cancel"]
    content = response.content.decode()
    assert action_url(fulfilment, "ready") in content
    assert action_url(fulfilment, "collect") not in content


def test_ready_then_collect_from_the_order_page(client_paris, paris, dress, ines):
    order = pickup_at(paris, dress)
    fulfilment = order.fulfilments.get()

    response = client_paris.post(action_url(fulfilment, "ready"))
    assert response.status_code == 302
    fulfilment.refresh_from_db()
    assert fulfilment.status == S.READY

    response = client_paris.post(action_url(fulfilment, "collect"), {"code": "482913"})

    assert response.status_code == 302
    fulfilment.refresh_from_db()
    assert fulfilment.status == S.COLLECTED
    assert fulfilment.transitions.last().performed_by == ines
    assert StockLevel.objects.get(variant=dress, location=paris).on_hand == 4


def test_a_wrong_code_or_an_illegal_action_is_an_error_message_not_a_500(
    client_paris, paris, dress, ines
):
    order = pickup_at(paris, dress)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=ines)
    transitions = FulfilmentTransition.objects.count()

    wrong = client_paris.post(action_url(fulfilment, "collect"), {"code": "111111"}, follow=True)
    illegal = client_paris.post(action_url(fulfilment, "ready"), follow=True)

    assert wrong.status_code == illegal.status_code == 200
    texts = [str(message) for message in wrong.context["messages"]]
    assert texts == ["This is not the pickup code of the order."]
    (refused,) = [str(message) for message in illegal.context["messages"]]
    assert "cannot go from" in refused
    fulfilment.refresh_from_db()
    assert fulfilment.status == S.READY
    assert FulfilmentTransition.objects.count() == transitions


def test_cancelling_the_order_from_its_page(client_paris, paris, dress):
    order = pickup_at(paris, dress)

    response = client_paris.post(
        reverse("orders:order-cancel", kwargs={"number": order.number}), {"reason": "phoned"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert StockLevel.objects.get(variant=dress, location=paris).reserved == 0


def test_returns_desk_finds_a_web_order_of_another_store_and_takes_the_return_here(
    client, make_staff, paris, lyon, dress, ines
):
    customer = CustomerFactory(email="lea@example.fr")
    order = pickup_at(paris, dress, quantity=2, customer=customer)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=ines)
    pickup_collect(fulfilment=fulfilment, performed_by=ines, code="482913")
    client.force_login(make_staff(roles.STORE_STAFF, stores=[lyon]))

    found = client.get(reverse("orders:returns-desk"), {"q": "LEA@example.fr"})
    by_code = client.get(reverse("orders:returns-desk"), {"q": "482913"})

    assert [o.pk for o in found.context["found"]] == [order.pk]
    assert by_code.context["found"] == []  # a pickup code only finds its own store's orders
    url = reverse("orders:return-create", kwargs={"number": order.number})
    line = order.lines.get()
    response = client.post(
        url,
        {
            f"quantity_{line.pk}": 1,
            "reason": "too small",
            "refund_amount": "89.00",
            "refund_reference": "TPE-42",
        },
    )

    assert response.status_code == 302
    returned = Return.objects.get()
    assert (returned.location, returned.refund_reference) == (lyon, "TPE-42")
    assert StockLevel.objects.get(variant=dress, location=lyon).on_hand == 1


def test_returns_desk_refuses_more_than_bought_with_a_form_error(client_paris, paris, dress, ines):
    order = pickup_at(paris, dress, quantity=1)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=ines)
    pickup_collect(fulfilment=fulfilment, performed_by=ines, code="482913")
    url = reverse("orders:return-create", kwargs={"number": order.number})
    line = order.lines.get()

    response = client_paris.post(
        url, {f"quantity_{line.pk}": 2, "reason": "x", "refund_amount": "0"}
    )
    too_much = client_paris.post(
        url, {f"quantity_{line.pk}": 1, "reason": "x", "refund_amount": "500"}
    )

    assert response.status_code == too_much.status_code == 400
    assert response.context["form"].errors
    assert "more than was paid" in str(too_much.context["form"].non_field_errors())
    assert not Return.objects.exists()


def test_till_sells_a_walk_in_cart(client_paris, paris, dress):
    stock_up(dress, paris, 3)

    start = client_paris.post(reverse("orders:till"), {"customer": ""})
    cart = Cart.objects.get()
    assert start.status_code == 302
    add = client_paris.post(
        reverse("orders:till-add", kwargs={"cart_id": cart.pk}), {"sku": "ROBE-38", "quantity": 2}
    )
    assert add.status_code == 302
    page = client_paris.get(reverse("orders:till-cart", kwargs={"cart_id": cart.pk}))
    assert page.context["view"].total == Decimal("178.00")

    paid = client_paris.post(
        reverse("orders:till-pay", kwargs={"cart_id": cart.pk}),
        {"provider": "card", "reference": "TPE-0001", "amount": "178.00"},
    )

    assert paid.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.store, order.status) == ("store", paris, OrderStatus.COMPLETED)
    assert order.fulfilments.get().kind == FulfilmentKind.STORE_SALE
    assert Payment.objects.get().reference == "TPE-0001"
    level = StockLevel.objects.get(variant=dress, location=paris)
    assert (level.on_hand, level.reserved) == (1, 0)


def test_a_till_pay_form_sent_twice_records_one_sale(client_paris, paris, dress):
    # The pay form carries the key it was drawn with: a double click, or the page sent again
    # once the sale is done, replays that sale (same order page) instead of failing on a sold
    # cart. The till checks out through the API's idempotent service.
    stock_up(dress, paris, 3)
    client_paris.post(reverse("orders:till"), {"customer": ""})
    cart = Cart.objects.get()
    client_paris.post(
        reverse("orders:till-add", kwargs={"cart_id": cart.pk}), {"sku": "ROBE-38", "quantity": 1}
    )
    page = client_paris.get(reverse("orders:till-cart", kwargs={"cart_id": cart.pk}))
    key = page.context["pay_form"].initial["idempotency_key"]
    assert f'name="idempotency_key" value="{key}"' in page.content.decode()
    pay = reverse("orders:till-pay", kwargs={"cart_id": cart.pk})
    form = {"provider": "card", "reference": "TPE-0003", "amount": "89.00", "idempotency_key": key}

    first = client_paris.post(f"{pay}?store=PAR01", form)
    again = client_paris.post(f"{pay}?store=PAR01", form)
    other = client_paris.post(f"{pay}?store=PAR01", {**form, "reference": "TPE-0004"})

    order = Order.objects.get()
    assert first.status_code == again.status_code == 302
    assert (
        first.url
        == again.url
        == reverse("orders:order-detail", args=[order.number]) + ("?store=PAR01")
    )
    assert other.status_code == 400
    assert "already sent for another sale" in str(other.context["pay_form"].non_field_errors())
    assert Payment.objects.get().reference == "TPE-0003"
    assert StockLevel.objects.get(variant=dress, location=paris).on_hand == 2


def test_till_opens_the_customers_online_cart_and_refuses_a_wrong_amount(
    client_paris, paris, dress
):
    customer = CustomerFactory(email="lea@example.fr")
    stock_up(dress, paris, 3)
    client_paris.post(reverse("orders:till"), {"customer": "lea@example.fr"})
    cart = Cart.objects.get(customer=customer)
    client_paris.post(
        reverse("orders:till-add", kwargs={"cart_id": cart.pk}), {"sku": "ROBE-38", "quantity": 1}
    )

    response = client_paris.post(
        reverse("orders:till-pay", kwargs={"cart_id": cart.pk}),
        {"provider": "card", "reference": "TPE-0002", "amount": "10.00"},
    )

    assert response.status_code == 400
    assert response.context["pay_form"].non_field_errors()
    assert not Order.objects.exists()
    assert StockLevel.objects.get(variant=dress, location=paris).on_hand == 3
