"""Returns in any store, of an order from any channel (scenario 5 up to the refund)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import MovementKind, StockLevel, StockMovement
from omni import roles
from orders.fulfilment.exceptions import InvalidReturn, ReasonRequired, RefundTooHigh, ReturnTooMany
from orders.models import FulfilmentKind, Notification, NotificationKind, Return, ReturnLine
from orders.services import pickup_collect, pickup_mark_ready, return_create, returnable_lines
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.order_factories import place_order, stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def dress():
    return VariantFactory(sku="ROBE-38", price=Decimal("89.00"))


@pytest.fixture
def paris():
    return StoreFactory(code="PAR01")


@pytest.fixture
def lyon():
    return StoreFactory(code="LYO01")


@pytest.fixture
def vendeur(make_staff, lyon):
    return make_staff(roles.STORE_STAFF, stores=[lyon])


def on_hand(variant, location) -> int:
    return StockLevel.objects.get(variant=variant, location=location).on_hand


def collected_web_order(store, variant, quantity, staff):
    stock_up(variant, store, 5)
    order = place_order(lines=[(variant, quantity)], location=store)
    fulfilment = order.fulfilments.get()
    pickup_mark_ready(fulfilment=fulfilment, performed_by=staff)
    pickup_collect(fulfilment=fulfilment, performed_by=staff, identity_checked=True)
    return order


def test_a_web_order_returned_in_another_store_puts_the_stock_there(
    paris, lyon, dress, vendeur, django_capture_on_commit_callbacks
):
    order = collected_web_order(paris, dress, 2, vendeur)
    line = order.lines.get()
    assert on_hand(dress, paris) == 3

    with django_capture_on_commit_callbacks() as callbacks:
        returned = return_create(
            order=order,
            location=lyon,
            lines=[(line.pk, 1)],
            reason="too small",
            refund_amount=Decimal("89.00"),
            performed_by=vendeur,
        )

    assert (returned.location, returned.refund_amount, returned.reason, returned.created_by) == (
        lyon,
        Decimal("89.00"),
        "too small",
        vendeur,
    )
    assert list(returned.lines.values_list("order_line", "quantity")) == [(line.pk, 1)]
    assert on_hand(dress, lyon) == 1
    assert on_hand(dress, paris) == 3
    assert StockMovement.objects.filter(kind=MovementKind.RETURN).values_list(
        "location", "on_hand_delta", "reference"
    ).get() == (lyon.pk, 1, f"{order.number}-RET{returned.pk}")
    notification = Notification.objects.get(kind=NotificationKind.REFUNDED)
    assert notification.return_request == returned
    assert len(callbacks) == 1
    assert list(order.returns.all()) == [returned]


def test_partial_returns_add_up_and_never_exceed_what_was_bought(paris, lyon, dress, vendeur):
    order = collected_web_order(paris, dress, 3, vendeur)
    line = order.lines.get()

    return_create(
        order=order, location=lyon, lines=[(line.pk, 1)], reason="a", refund_amount=Decimal(0)
    )
    return_create(
        order=order, location=lyon, lines=[(line.pk, 2)], reason="b", refund_amount=Decimal(0)
    )
    with pytest.raises(ReturnTooMany) as caught:
        return_create(
            order=order, location=lyon, lines=[(line.pk, 1)], reason="c", refund_amount=Decimal(0)
        )

    assert caught.value.extra == {"order_line_ids": [line.pk], "returnable": {line.pk: 0}}
    assert Return.objects.count() == 2
    assert on_hand(dress, lyon) == 3
    (item,) = returnable_lines(order=order)
    assert (item.handed_over, item.returned, item.returnable) == (3, 3, 0)


def test_returning_more_than_bought_writes_nothing(paris, lyon, dress, vendeur):
    order = collected_web_order(paris, dress, 2, vendeur)
    line = order.lines.get()

    with pytest.raises(ReturnTooMany):
        return_create(
            order=order, location=lyon, lines=[(line.pk, 3)], reason="x", refund_amount=Decimal(0)
        )

    assert not Return.objects.exists()
    assert not StockLevel.objects.filter(location=lyon).exists()
    assert not Notification.objects.filter(kind=NotificationKind.REFUNDED).exists()


def test_units_not_yet_handed_over_cannot_be_returned(paris, lyon, dress):
    stock_up(dress, paris, 5)
    order = place_order(lines=[(dress, 2)], location=paris)

    with pytest.raises(ReturnTooMany):
        return_create(
            order=order,
            location=lyon,
            lines=[(order.lines.get().pk, 1)],
            reason="x",
            refund_amount=Decimal(0),
        )


def test_a_till_sale_can_be_returned_in_the_store(lyon, dress, vendeur):
    stock_up(dress, lyon, 2)
    order = place_order(lines=[(dress, 1)], location=lyon, kind=FulfilmentKind.STORE_SALE)

    return_create(
        order=order,
        location=lyon,
        lines=[(order.lines.get().pk, 1)],
        reason="changed her mind",
        refund_amount=Decimal("89.00"),
        performed_by=vendeur,
    )

    assert on_hand(dress, lyon) == 2


@pytest.mark.parametrize(
    ("lines", "reason", "refund", "error"),
    [
        ([], "x", "0", InvalidReturn),
        ([("line", 0)], "x", "0", InvalidReturn),
        ([("other", 1)], "x", "0", InvalidReturn),
        ([("line", 1)], " ", "0", ReasonRequired),
        ([("line", 1)], "x", "89.01", RefundTooHigh),
        ([("line", 1)], "x", "-1", RefundTooHigh),
    ],
)
def test_bad_returns_are_refused_and_write_nothing(
    paris, lyon, dress, vendeur, lines, reason, refund, error
):
    order = collected_web_order(paris, dress, 2, vendeur)
    other = collected_web_order(paris, VariantFactory(), 1, vendeur)
    ids = {"line": order.lines.get().pk, "other": other.lines.get().pk}

    with pytest.raises(error):
        return_create(
            order=order,
            location=lyon,
            lines=[(ids[name], quantity) for name, quantity in lines],
            reason=reason,
            refund_amount=Decimal(refund),
        )

    assert not ReturnLine.objects.exists()
    assert not StockLevel.objects.filter(location=lyon).exists()
