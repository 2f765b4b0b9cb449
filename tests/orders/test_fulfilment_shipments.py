"""Home delivery: picking, shipping with a carrier, delivery; ship-from-store accept or reject."""

from __future__ import annotations

import pytest

from inventory.models import MovementKind, StockLevel, StockMovement
from omni import roles
from orders.fulfilment.exceptions import (
    InvalidTransition,
    NotShipFromStore,
    ReasonRequired,
    ShippingDetailsRequired,
)
from orders.models import (
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Notification,
    NotificationKind,
    OrderStatus,
)
from orders.services import (
    shipment_accept,
    shipment_deliver,
    shipment_reject,
    shipment_ship,
    shipment_start_picking,
)
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory
from tests.orders.order_factories import place_order, stock_up

pytestmark = pytest.mark.django_db

S = FulfilmentStatus


@pytest.fixture
def dress():
    return VariantFactory(sku="ROBE-38")


@pytest.fixture
def shop():
    return StoreFactory(code="LYO01", name="Lyon", ship_from_store=True)


@pytest.fixture
def vendeur(make_staff, shop):
    return make_staff(roles.STORE_STAFF, stores=[shop])


def level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


def parcel(location, dress, quantity=2):
    order = place_order(lines=[(dress, quantity)], location=location, kind=FulfilmentKind.DELIVERY)
    return order, order.fulfilments.get()


def test_delivery_picking_shipped_delivered_sells_the_stock_and_tells_the_customer(
    dress, django_capture_on_commit_callbacks
):
    warehouse = WarehouseFactory()
    stock_up(dress, warehouse, 5)
    order, fulfilment = parcel(warehouse, dress)
    shipment_start_picking(fulfilment=fulfilment)

    with django_capture_on_commit_callbacks() as callbacks:
        shipped = shipment_ship(
            fulfilment=fulfilment, carrier=" Colissimo ", tracking_number="6A123456789"
        )

    assert (shipped.status, shipped.carrier, shipped.tracking_number) == (
        S.SHIPPED,
        "Colissimo",
        "6A123456789",
    )
    assert shipped.shipped_at is not None
    assert level(dress, warehouse) == (3, 0)
    assert StockMovement.objects.filter(
        reference=fulfilment.reference, kind=MovementKind.SALE
    ).values_list("on_hand_delta", "reserved_delta").get() == (-2, -2)
    assert Notification.objects.get().kind == NotificationKind.SHIPPED
    assert len(callbacks) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED

    delivered = shipment_deliver(fulfilment=fulfilment)

    assert delivered.status == S.DELIVERED
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


@pytest.mark.parametrize(("carrier", "tracking"), [("", "6A1"), ("Colissimo", " "), ("", "")])
def test_shipping_needs_a_carrier_and_a_tracking_number(dress, carrier, tracking):
    warehouse = WarehouseFactory()
    stock_up(dress, warehouse, 5)
    _order, fulfilment = parcel(warehouse, dress)
    shipment_start_picking(fulfilment=fulfilment)

    with pytest.raises(ShippingDetailsRequired):
        shipment_ship(fulfilment=fulfilment, carrier=carrier, tracking_number=tracking)

    fulfilment.refresh_from_db()
    assert (fulfilment.status, fulfilment.carrier) == (S.PICKING, "")
    assert level(dress, warehouse) == (5, 2)


def test_a_store_accepts_then_ships(shop, dress, vendeur):
    stock_up(dress, shop, 2)
    _order, fulfilment = parcel(shop, dress)

    accepted = shipment_accept(fulfilment=fulfilment, performed_by=vendeur)
    shipment_start_picking(fulfilment=accepted, performed_by=vendeur)

    assert list(fulfilment.transitions.values_list("to_status", "performed_by")) == [
        (S.ACCEPTED, vendeur.pk),
        (S.PICKING, vendeur.pk),
    ]
    with pytest.raises(InvalidTransition):
        shipment_accept(fulfilment=fulfilment, performed_by=vendeur)


def test_a_rejection_releases_the_store_and_reallocates_to_a_warehouse(shop, dress, vendeur):
    warehouse = WarehouseFactory()
    stock_up(dress, shop, 2)
    stock_up(dress, warehouse, 5)
    order, fulfilment = parcel(shop, dress)

    created = shipment_reject(fulfilment=fulfilment, reason="damaged", performed_by=vendeur)

    fulfilment.refresh_from_db()
    assert (fulfilment.status, fulfilment.rejection_reason) == (S.REJECTED, "damaged")
    assert level(dress, shop) == (2, 0)
    (new,) = created
    assert (new.order, new.location, new.kind, new.status) == (
        order,
        warehouse,
        FulfilmentKind.DELIVERY,
        S.PLACED,
    )
    assert list(new.lines.values_list("order_line__variant", "quantity")) == [(dress.pk, 2)]
    assert level(dress, warehouse) == (5, 2)
    assert StockMovement.objects.filter(reference=new.reference).values_list(
        "location", "reserved_delta"
    ).get() == (warehouse.pk, 2)
    order.refresh_from_db()
    assert (order.status, order.attention_reason) == (OrderStatus.PLACED, "")


def test_a_rejection_nobody_else_can_cover_flags_the_order(shop, dress, vendeur):
    other_store = StoreFactory(ship_from_store=True)
    stock_up(dress, shop, 2)
    stock_up(dress, other_store, 1)  # not enough for the whole line
    order, fulfilment = parcel(shop, dress)

    created = shipment_reject(fulfilment=fulfilment, reason="not found", performed_by=vendeur)

    assert created == []
    order.refresh_from_db()
    assert order.status == OrderStatus.ATTENTION
    assert "not found" in order.attention_reason
    assert order.fulfilments.count() == 1
    assert level(dress, shop) == (2, 0)
    assert level(dress, other_store) == (1, 0)


def test_a_store_that_rejected_is_not_chosen_again(shop, dress, vendeur):
    second = StoreFactory(ship_from_store=True)
    stock_up(dress, shop, 2)
    stock_up(dress, second, 2)
    order, fulfilment = parcel(shop, dress)
    (moved,) = shipment_reject(fulfilment=fulfilment, reason="damaged", performed_by=vendeur)
    assert moved.location == second

    again = shipment_reject(fulfilment=moved, reason="no staff", performed_by=vendeur)

    assert again == []
    order.refresh_from_db()
    assert order.status == OrderStatus.ATTENTION
    assert level(dress, shop) == (2, 0)
    assert level(dress, second) == (2, 0)


def test_rejecting_needs_a_reason_and_a_ship_from_store_parcel(shop, dress, vendeur):
    warehouse = WarehouseFactory()
    stock_up(dress, warehouse, 2)
    stock_up(dress, shop, 2)
    _order, from_warehouse = parcel(warehouse, dress)
    _order, from_store = parcel(shop, dress)

    with pytest.raises(NotShipFromStore):
        shipment_reject(fulfilment=from_warehouse, reason="no", performed_by=vendeur)
    with pytest.raises(ReasonRequired):
        shipment_reject(fulfilment=from_store, reason="  ", performed_by=vendeur)

    assert not FulfilmentTransition.objects.exists()
    assert level(dress, shop) == (2, 2)
