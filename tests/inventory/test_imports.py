"""CSV imports: a valid file imports whole, a file with any bad row imports nothing."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from inventory import services
from inventory.models import Category, MovementKind, Product, StockLevel, StockMovement, Variant
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_a_valid_products_file_creates_products_and_variants():
    report = services.import_products(text("products_valid.csv"))

    assert (report.ok, report.created, report.updated) == (True, 3, 0)
    assert sorted(Category.objects.values_list("slug", "name")) == [
        ("beaute", "Beauté"),
        ("robes", "Robes"),
    ]
    robe = Product.objects.get(reference="P100")
    assert (robe.name, robe.category.name, robe.vat_rate) == ("Robe Iris", "Robes", Decimal(20))
    lipstick = Variant.objects.get(sku="P200-ROU-TU")
    assert (lipstick.price, lipstick.currency, lipstick.is_active, lipstick.ean) == (
        Decimal("19.50"),
        "EUR",
        False,
        "",
    )
    assert lipstick.product.vat_rate == Decimal("5.5")
    small = Variant.objects.get(sku="P100-NOI-S")
    assert (small.name, small.attributes, small.product) == (
        "Robe Iris, noir S",
        {"size": "S", "colour": "noir"},
        robe,
    )


def test_importing_the_same_file_again_updates_in_place():
    services.import_products(text("products_valid.csv"))
    Variant.objects.filter(sku="P100-NOI-S").update(price=Decimal("1.00"))

    report = services.import_products(text("products_valid.csv"))

    assert (report.created, report.updated) == (0, 3)
    assert Variant.objects.count() == 3
    assert Variant.objects.get(sku="P100-NOI-S").price == Decimal("59.90")


def test_a_products_file_with_bad_rows_imports_nothing_and_names_every_bad_line():
    report = services.import_products(text("products_invalid.csv"))

    assert [error.line for error in report.errors] == [3, 4, 5, 6, 7]
    messages = {error.line: error.message for error in report.errors}
    assert "ean" in messages[3]
    assert "price must be zero or more" in messages[4]
    assert "already appears on line 2" in messages[5]
    assert "sku is required" in messages[6]
    assert "price is not a number" in messages[6]
    assert "active must be true or false" in messages[6]
    assert "currency" in messages[7]
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    assert not Category.objects.exists()


def test_a_product_described_two_ways_in_one_file_is_refused():
    header = ",".join(services.PRODUCT_COLUMNS)
    csv = (
        f"{header}\n"
        "P1,Robe,Robes,P1-S,,Robe S,S,,10,EUR,20,true\n"
        "P1,Robe longue,Robes,P1-M,,Robe M,M,,10,EUR,20,true\n"
    )

    report = services.import_products(csv)

    assert [error.line for error in report.errors] == [3]
    assert not Product.objects.exists()


def test_a_file_without_the_required_columns_is_refused_on_its_first_line():
    report = services.import_products("reference,sku,price\nP1,P1-S,10\n")

    assert [error.line for error in report.errors] == [1]
    assert "product_name" in report.errors[0].message


@pytest.fixture
def catalogue():
    store = StoreFactory(code="PAR01")
    warehouse = WarehouseFactory(code="WH-NORD")
    small = VariantFactory(sku="P100-NOI-S")
    medium = VariantFactory(sku="P100-NOI-M")
    return store, warehouse, small, medium


def test_a_valid_stock_file_counts_stocked_articles_and_opens_the_others(catalogue):
    store, _warehouse, small, medium = catalogue
    services.stock_receive(
        location=store, lines=[services.StockLine(small.pk, 6)], reference="BL-1"
    )

    report = services.import_stock(text("stock_valid.csv"), reference="import:stock_valid.csv")

    assert (report.ok, report.created, report.updated) == (True, 1, 1)
    on_hand = dict(StockLevel.objects.values_list("location__code", "on_hand"))
    assert on_hand == {"PAR01": 4, "WH-NORD": 25}
    assert not StockLevel.objects.filter(variant=medium).exists()
    count = StockMovement.objects.get(kind=MovementKind.COUNT)
    assert (count.location, count.on_hand_delta, count.reference) == (
        store,
        -2,
        "import:stock_valid.csv",
    )
    for level in StockLevel.objects.all():
        ledger = StockMovement.objects.filter(
            variant=level.variant, location=level.location
        ).aggregate(total=Sum("on_hand_delta"))
        assert ledger["total"] == level.on_hand


def test_a_stock_file_with_bad_rows_changes_nothing_and_names_every_bad_line(catalogue):
    store, _warehouse, small, _medium = catalogue
    services.stock_receive(
        location=store, lines=[services.StockLine(small.pk, 6)], reference="BL-1"
    )

    report = services.import_stock(text("stock_invalid.csv"), reference="import")

    assert [error.line for error in report.errors] == [3, 4, 5, 6, 7]
    messages = {error.line: error.message for error in report.errors}
    assert "unknown location" in messages[3]
    assert "unknown SKU" in messages[4]
    assert "zero or more" in messages[5]
    assert "whole number" in messages[6]
    assert "line 2" in messages[7]
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 6


def test_import_products_command_prints_the_result(capsys):
    call_command("import_products", str(FIXTURES / "products_valid.csv"))

    assert "3 created, 0 updated." in capsys.readouterr().out
    assert Variant.objects.count() == 3


def test_import_products_command_fails_and_lists_every_bad_line(capsys):
    with pytest.raises(CommandError, match="5 invalid row"):
        call_command("import_products", str(FIXTURES / "products_invalid.csv"))

    errors = capsys.readouterr().err
    assert [line.split(":")[0] for line in errors.splitlines()] == [
        f"line {number}" for number in (3, 4, 5, 6, 7)
    ]
    assert not Variant.objects.exists()


def test_import_stock_command_records_the_file_name_as_reference(catalogue, capsys):
    call_command("import_stock", str(FIXTURES / "stock_valid.csv"))

    assert "2 created, 0 updated." in capsys.readouterr().out
    assert set(StockMovement.objects.values_list("reference", flat=True)) == {
        "import:stock_valid.csv"
    }


def test_import_stock_command_fails_on_a_bad_file(catalogue):
    with pytest.raises(CommandError, match="5 invalid row"):
        call_command("import_stock", str(FIXTURES / "stock_invalid.csv"))

    assert not StockMovement.objects.exists()


def test_a_missing_file_is_a_clear_command_error():
    with pytest.raises(CommandError, match=r"nope\.csv"):
        call_command("import_stock", str(FIXTURES / "nope.csv"))
