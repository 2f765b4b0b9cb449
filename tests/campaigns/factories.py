"""Factories for the campaigns tests: orders as the segment rules read them, valid by default.

Orders are written directly (not through checkout): these tests are about reading them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from campaigns.models import Message, MessageStatus
from customers.models import Channel, ConsentEvent, ConsentState, ContactChannel, Customer
from orders.models import Order, OrderLine
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.WEB
    subtotal = Decimal("49.90")
    total = Decimal("49.90")


class SentMessageFactory(DjangoModelFactory):
    """A campaign message already sent `at` (default: now), as the frequency cap, the engagement
    rules, the results and the 360° view read it; the sending pipeline has its own tests. Give
    the campaign; `.build()` for a `bulk_create`."""

    class Meta:
        model = Message

    class Params:
        at = factory.LazyFunction(timezone.now)

    customer = factory.SubFactory(CustomerFactory)
    run = "once"
    channel = ContactChannel.EMAIL
    idempotency_key = factory.Sequence(lambda n: f"sent-earlier-{n}")
    status = MessageStatus.SENT
    not_before = factory.SelfAttribute("at")
    created_at = factory.SelfAttribute("at")
    sent_at = factory.SelfAttribute("at")


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    sku = factory.LazyAttribute(lambda o: o.variant.sku)
    name = factory.LazyAttribute(lambda o: o.variant.name)
    quantity = 1
    unit_price = Decimal("49.90")
    vat_rate = Decimal("20.00")
    line_total = Decimal("49.90")
    vat_amount = Decimal("8.32")


def order_placed(*, days_ago: float, **fields) -> Order:
    """An order placed `days_ago` days before now (placed_at is auto_now_add: set it after)."""
    order = OrderFactory(**fields)
    placed_at = timezone.now() - dt.timedelta(days=days_ago)
    Order.objects.filter(pk=order.pk).update(placed_at=placed_at)
    order.placed_at = placed_at
    return order


def bought(*, customer: Customer, variant, days_ago: float = 1, **order_fields) -> OrderLine:
    order = order_placed(days_ago=days_ago, customer=customer, **order_fields)
    return OrderLineFactory(order=order, variant=variant)


def consent(customer: Customer, *channels: str, granted: bool = True) -> None:
    """Set consent states directly (the customers services are tested in their app)."""
    for channel in channels:
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            action="granted" if granted else "withdrawn",
            reason="" if granted else "unsubscribed",
            source_channel=Channel.WEB,
        )
        ConsentState.objects.update_or_create(
            customer=customer,
            channel=channel,
            defaults={"granted": granted, "last_event": event, "updated_at": timezone.now()},
        )


ALL_CHANNELS = tuple(ContactChannel.values)


def make_campaign(*, rules=None, channels=("email",), name="Spring", **spec_fields):
    """A campaign created through the service, over a segment of `rules` (everyone by default)."""
    from campaigns import services

    segment = services.segment_create(
        name=f"{name} segment",
        rules=rules or {"field": "orders_count", "op": "gte", "value": 0},
    )
    variants = spec_fields.pop("variants", None) or (
        services.VariantSpec(
            name="A",
            split_percent=100,
            contents=tuple(
                services.ChannelContent(
                    channel=channel,
                    subject="Bonjour {{ first_name }}",
                    body="Hello {{ first_name }}",
                )
                for channel in channels
            ),
        ),
    )
    spec = services.CampaignSpec(
        name=name, segment=segment, channels=tuple(channels), variants=variants, **spec_fields
    )
    return services.campaign_create(spec=spec)
