"""Order factories: valid by default, override in the test. Prefer `order_checkout` where the
stock and the trail matter: these write bare rows."""

from collections.abc import Sequence
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.models import Channel
from inventory import services as stock
from inventory.models import Location, Variant
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    FulfilmentStatus,
    Order,
    OrderLine,
)
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, VariantFactory


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"OM-T{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.WEB
    subtotal = Decimal("49.90")
    total = Decimal("49.90")
    vat_total = Decimal("8.32")


class FulfilmentFactory(DjangoModelFactory):
    class Meta:
        model = Fulfilment

    order = factory.SubFactory(OrderFactory)
    kind = FulfilmentKind.CLICK_AND_COLLECT
    status = FulfilmentStatus.READY
    reference = factory.Sequence(lambda n: f"OM-T{n:06d}-1")
    location = factory.SubFactory(StoreFactory, address="12 rue de Rivoli")
    pickup_code = "482913"


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    sku = factory.LazyAttribute(lambda o: o.variant.sku)
    name = factory.LazyAttribute(lambda o: o.variant.name)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda o: o.variant.price)
    vat_rate = Decimal("20.00")
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)
    vat_amount = factory.LazyAttribute(lambda o: (o.line_total / 6).quantize(Decimal("0.01")))


def stock_up(variant: Variant, location: Location, quantity: int) -> None:
    """Receive `quantity` units through the stock service (ledger included)."""
    stock.stock_receive(
        location=location, lines=[stock.StockLine(variant.pk, quantity)], reference="TEST-IN"
    )


def place_order(
    *,
    lines: Sequence[tuple[Variant, int]],
    location: Location,
    kind: str = FulfilmentKind.CLICK_AND_COLLECT,
    status: str | None = None,
    source_location: Location | None = None,
    **order_fields,
) -> Order:
    """An order with one fulfilment whose stock is held (or sold, for a till sale) through the
    inventory services, as checkout leaves it. Stock the location first (`stock_up`)."""
    order = OrderFactory(**order_fields)
    order_lines = [OrderLineFactory(order=order, variant=v, quantity=q) for v, q in lines]
    total = sum((line.line_total for line in order_lines), start=Decimal(0))
    Order.objects.filter(pk=order.pk).update(subtotal=total, total=total)
    order.refresh_from_db()
    default_status = {
        FulfilmentKind.CLICK_AND_COLLECT: (
            FulfilmentStatus.AWAITING_TRANSFER if source_location else FulfilmentStatus.RESERVED
        ),
        FulfilmentKind.DELIVERY: FulfilmentStatus.PLACED,
        FulfilmentKind.STORE_SALE: FulfilmentStatus.COMPLETED,
    }[kind]
    fulfilment = FulfilmentFactory(
        order=order,
        kind=kind,
        status=status or default_status,
        reference=f"{order.number}-1",
        location=location,
        source_location=source_location,
        pickup_code="482913" if kind == FulfilmentKind.CLICK_AND_COLLECT else "",
    )
    FulfilmentLine.objects.bulk_create(
        [
            FulfilmentLine(fulfilment=fulfilment, order_line=line, quantity=line.quantity)
            for line in order_lines
        ]
    )
    stock_lines = [stock.StockLine(v.pk, q) for v, q in lines]
    if kind == FulfilmentKind.STORE_SALE:
        stock.stock_sell(location=location, lines=stock_lines, reference=fulfilment.reference)
    else:
        stock.stock_reserve(
            location=source_location or location, lines=stock_lines, reference=fulfilment.reference
        )
    return order
