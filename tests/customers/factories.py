"""Customer factories: valid by default, override in the test."""

import factory
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
