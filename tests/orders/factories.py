"""Cart factories: valid by default, override in the test. Prefer the services in tests that
check the trail: factories write no events."""

import factory
from factory.django import DjangoModelFactory

from customers.models import Channel
from orders.models import Cart, CartLine
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory


class CartFactory(DjangoModelFactory):
    class Meta:
        model = Cart

    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.WEB


class AnonymousCartFactory(CartFactory):
    customer = None


class CartLineFactory(DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
    unit_price_seen = factory.LazyAttribute(lambda o: o.variant.price)
    currency = "EUR"
    added_channel = Channel.WEB
