"""Order factories: valid by default, override in the test. Prefer `order_checkout` where the
stock and the trail matter: these write bare rows."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.models import Channel
from orders.models import Fulfilment, FulfilmentKind, FulfilmentStatus, Order
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory


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
