"""Inventory factories: valid by default, override in the test."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from inventory.models import Category, Location, LocationKind, Product, StockLevel, Variant

OPEN_EVERY_DAY = {str(day): ["09:00", "20:00"] for day in range(7)}


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Robes"
    slug = "robes"


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    reference = factory.Sequence(lambda n: f"REF{n:05d}")
    name = factory.Sequence(lambda n: f"Robe {n}")
    category = factory.SubFactory(CategoryFactory)
    vat_rate = Decimal("20.00")


class VariantFactory(DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    ean = factory.Sequence(lambda n: f"{3_100_000_000_000 + n}")
    name = factory.LazyAttribute(lambda o: f"{o.product.name} M")
    attributes = factory.LazyFunction(lambda: {"size": "M", "colour": "noir"})
    price = Decimal("49.90")


class StoreFactory(DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"ST{n:03d}")
    name = factory.Sequence(lambda n: f"Magasin {n}")
    kind = LocationKind.STORE
    city = "Paris"
    postal_code = "75001"
    latitude = Decimal("48.860600")
    longitude = Decimal("2.347600")
    click_and_collect = True
    ship_from_store = False
    opening_hours = factory.LazyFunction(lambda: dict(OPEN_EVERY_DAY))


class WarehouseFactory(StoreFactory):
    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Entrepôt {n}")
    kind = LocationKind.WAREHOUSE
    click_and_collect = False
    priority = 10


class StockLevelFactory(DjangoModelFactory):
    """A bare stock row. Prefer inventory.services.stock_receive in tests that check the ledger."""

    class Meta:
        model = StockLevel

    variant = factory.SubFactory(VariantFactory)
    location = factory.SubFactory(StoreFactory)
    on_hand = 10
    reserved = 0
