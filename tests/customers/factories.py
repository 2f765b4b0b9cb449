"""Customer factories: valid by default, override in the test."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from customers.models import Channel, Customer


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    email = factory.Sequence(lambda n: f"camille.martin{n}@example.fr")
    phone = factory.Sequence(lambda n: f"+3361{n:07d}")
    card_number = factory.Sequence(lambda n: f"OMNI{n:010d}")
    postal_code = "75011"
    created_channel = Channel.WEB


class DeviceFactory(DjangoModelFactory):
    """An active app installation; `customer` is usually given."""

    class Meta:
        model = "customers.Device"

    customer = factory.SubFactory(CustomerFactory)
    platform = "android"
    token = factory.Sequence(lambda n: f"fcm-token:{n:06d}-APA91b")
    app_version = "4.2.0"
    last_seen_at = factory.LazyFunction(timezone.now)
