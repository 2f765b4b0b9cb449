"""The inventory admin: lists load with few queries, stock changes only through the services."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory import services
from inventory.models import (
    MovementKind,
    ShortageStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
    Variant,
)
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = [
    "category",
    "product",
    "variant",
    "location",
    "staffprofile",
    "stocklevel",
    "stockmovement",
    "reservation",
    "shortage",
    "transfer",
    "stockevent",
]


@pytest.fixture
def superuser(admin_user, client):
    client.force_login(admin_user)
    return admin_user


def _activity(count: int, make_staff) -> None:
    """Rows in every inventory table, made the way the services make them."""
    stores = [StoreFactory() for _ in range(count)]
    warehouse = WarehouseFactory()
    variants = [VariantFactory() for _ in range(count)]
    lines = [services.StockLine(variant.pk, 3) for variant in variants]
    for location in [*stores, warehouse]:
        services.stock_receive(location=location, lines=lines, reference="BL")
        services.stock_reserve(
            location=location,
            lines=[services.StockLine(variants[0].pk, 1)],
            reference=f"C-{location.code}",
        )
    services.stock_count(location=stores[0], variant_id=variants[0].pk, counted=0)
    services.stock_transfer_ship(
        source=warehouse,
        destination=stores[-1],
        lines=[services.StockLine(variant.pk, 1) for variant in variants],
    )
    make_staff(None, stores=stores)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("count", [1, 15])
def test_changelists_load_with_a_bounded_number_of_queries(
    client, superuser, make_staff, django_assert_max_num_queries, model, count
):
    _activity(count, make_staff)

    with django_assert_max_num_queries(8):
        response = client.get(reverse(f"admin:inventory_{model}_changelist"))

    assert response.status_code == 200


def test_a_variant_is_found_by_its_ean(client, superuser):
    wanted = VariantFactory(ean="3100000009999")
    VariantFactory()

    response = client.get(reverse("admin:inventory_variant_changelist"), {"q": "3100000009999"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_stock_quantities_and_the_ledger_are_read_only(client, superuser):
    store, variant = StoreFactory(), VariantFactory()
    services.stock_receive(
        location=store, lines=[services.StockLine(variant.pk, 2)], reference="BL"
    )
    level, movement = StockLevel.objects.get(), StockMovement.objects.get()

    change = client.get(reverse("admin:inventory_stocklevel_change", args=[level.pk]))

    assert change.status_code == 200
    assert 'name="on_hand"' not in change.content.decode()
    assert client.get(reverse("admin:inventory_stocklevel_add")).status_code == 403
    assert client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    delete = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert StockMovement.objects.count() == 1


def test_receiving_in_the_admin_goes_through_the_service(client, superuser):
    store, variant = StoreFactory(), VariantFactory(sku="P1-S")

    response = client.post(
        reverse("admin:inventory_stocklevel_receive"),
        {"location": store.pk, "article": "P1-S", "quantity": 4, "reference": "BL-9"},
    )

    assert response.status_code == 302
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.performed_by) == (
        MovementKind.RECEIPT,
        4,
        superuser,
    )
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 4


def test_an_admin_adjustment_needs_a_reason_and_cannot_go_below_zero(client, superuser):
    store, variant = StoreFactory(), VariantFactory(sku="P1-S")
    services.stock_receive(
        location=store, lines=[services.StockLine(variant.pk, 1)], reference="BL"
    )
    adjust = reverse("admin:inventory_stocklevel_adjust")

    no_reason = client.post(
        adjust, {"location": store.pk, "article": "P1-S", "delta": -1, "reason": ""}
    )
    too_many = client.post(
        adjust, {"location": store.pk, "article": "P1-S", "delta": -3, "reason": "vol"}
    )

    assert "reason" in no_reason.context["form"].errors
    assert too_many.context["form"].non_field_errors()
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 1


def test_a_staff_user_without_the_stock_permission_cannot_change_stock(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)

    assert client.get(reverse("admin:inventory_stocklevel_receive")).status_code == 403
    assert client.get(reverse("admin:inventory_variant_import")).status_code == 403


def test_the_cancel_action_resolves_shortages_through_the_service(client, superuser):
    store, variant = StoreFactory(), VariantFactory()
    services.stock_receive(
        location=store, lines=[services.StockLine(variant.pk, 1)], reference="BL"
    )
    services.stock_reserve(
        location=store, lines=[services.StockLine(variant.pk, 1)], reference="C-1"
    )
    [shortage] = services.stock_count(location=store, variant_id=variant.pk, counted=0).shortages

    client.post(
        reverse("admin:inventory_shortage_changelist"),
        {"action": "cancel_shortages", "_selected_action": [shortage.pk]},
    )

    shortage.refresh_from_db()
    assert (shortage.status, shortage.resolved_by) == (ShortageStatus.CANCELLED, superuser)


def test_the_receive_action_receives_transfers_through_the_service(client, superuser):
    warehouse, store, variant = WarehouseFactory(), StoreFactory(), VariantFactory()
    services.stock_receive(
        location=warehouse, lines=[services.StockLine(variant.pk, 5)], reference="BL"
    )
    transfer = services.stock_transfer_ship(
        source=warehouse, destination=store, lines=[services.StockLine(variant.pk, 2)]
    )

    client.post(
        reverse("admin:inventory_transfer_changelist"),
        {"action": "receive_transfers", "_selected_action": [transfer.pk]},
    )

    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.received_by) == (TransferStatus.RECEIVED, superuser)
    assert StockLevel.objects.get(location=store).on_hand == 2
    assert StockMovement.objects.get(kind=MovementKind.TRANSFER_IN).performed_by == superuser


def _upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes(), content_type="text/csv")


def test_importing_products_in_the_admin(client, superuser):
    response = client.post(
        reverse("admin:inventory_variant_import"), {"file": _upload("products_valid.csv")}
    )

    assert response.status_code == 302
    assert Variant.objects.count() == 3


def test_a_bad_products_file_in_the_admin_lists_every_bad_line(client, superuser):
    response = client.post(
        reverse("admin:inventory_variant_import"), {"file": _upload("products_invalid.csv")}
    )

    assert response.status_code == 200
    page = response.content.decode()
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in page
    assert not Variant.objects.exists()


def test_importing_stock_counts_in_the_admin(client, superuser):
    StoreFactory(code="PAR01")
    WarehouseFactory(code="WH-NORD")
    VariantFactory(sku="P100-NOI-S")
    VariantFactory(sku="P100-NOI-M")

    response = client.post(
        reverse("admin:inventory_stocklevel_import"), {"file": _upload("stock_valid.csv")}
    )

    assert response.status_code == 302
    assert dict(StockLevel.objects.values_list("location__code", "on_hand")) == {
        "PAR01": 4,
        "WH-NORD": 25,
    }
    assert set(StockMovement.objects.values_list("performed_by", flat=True)) == {superuser.pk}
