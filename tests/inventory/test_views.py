"""The store stock screens: who may open what, forms that refuse bad input, the ledger written."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import services
from inventory.models import (
    MovementKind,
    Shortage,
    ShortageStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from omni import roles
from tests.inventory.factories import StoreFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def url(name: str, store=None, **query) -> str:
    params = {"store": store.code} if store else {}
    params.update(query)
    return reverse(f"inventory:{name}") + ("?" + "&".join(f"{k}={v}" for k, v in params.items()))


def receive(location, variant, quantity: int) -> None:
    services.stock_receive(
        location=location,
        lines=[services.StockLine(variant.pk, quantity)],
        reference="test",
    )


@pytest.fixture
def store():
    return StoreFactory(code="PAR01", name="Paris Rivoli")


@pytest.fixture
def other_store():
    return StoreFactory(
        code="PAR02",
        name="Paris Montparnasse",
        latitude=Decimal("48.842100"),
        longitude=Decimal("2.321900"),
    )


@pytest.fixture
def variant():
    return VariantFactory(sku="ROBE-NOIR-M", ean="3100000000017", name="Robe Iris noir M")


@pytest.fixture
def manager(make_staff, store):
    return make_staff(roles.STORE_MANAGER, stores=[store])


@pytest.fixture
def staff(make_staff, store):
    return make_staff(roles.STORE_STAFF, stores=[store])


# --- Access ------------------------------------------------------------------------------------

SCREENS = [
    "stock-lookup",
    "low-stock",
    "transfers",
    "shortages",
    "stock-receive",
    "stock-adjust",
    "stock-count",
    "transfer-ship",
]
MANAGER_ONLY = {"stock-receive", "stock-adjust", "stock-count", "transfer-ship"}


@pytest.mark.parametrize("screen", SCREENS)
def test_anonymous_users_are_sent_to_the_login_page(client, screen):
    response = client.get(reverse(f"inventory:{screen}"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("screen", SCREENS)
def test_store_staff_read_stock_but_do_not_change_it(client, staff, screen):
    client.force_login(staff)

    response = client.get(reverse(f"inventory:{screen}"))

    assert response.status_code == (403 if screen in MANAGER_ONLY else 200)


@pytest.mark.parametrize("screen", SCREENS)
def test_store_managers_open_every_stock_screen(client, manager, screen):
    client.force_login(manager)

    assert client.get(reverse(f"inventory:{screen}")).status_code == 200


@pytest.mark.parametrize("role", [roles.SERVICE_AGENT, roles.MARKETER], ids=lambda r: r.name)
def test_other_roles_get_403(client, make_staff, store, role):
    client.force_login(make_staff(role, stores=[store]))

    assert client.get(reverse("inventory:stock-lookup")).status_code == 403


def test_store_staff_posting_an_adjustment_get_403_and_nothing_changes(
    client, staff, store, variant
):
    receive(store, variant, 5)
    client.force_login(staff)

    response = client.post(
        url("stock-adjust", store), {"article": variant.sku, "delta": -1, "reason": "casse"}
    )

    assert response.status_code == 403
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 5


def test_a_manager_of_one_store_cannot_adjust_another(client, manager, other_store, variant):
    receive(other_store, variant, 5)
    client.force_login(manager)

    response = client.post(
        url("stock-adjust", other_store), {"article": variant.sku, "delta": -1, "reason": "casse"}
    )

    assert response.status_code == 403
    assert StockLevel.objects.get(variant=variant, location=other_store).on_hand == 5
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


def test_staff_cannot_look_at_a_store_they_do_not_work_at(client, staff, other_store):
    client.force_login(staff)

    assert client.get(url("stock-lookup", other_store)).status_code == 403
    assert client.get(url("low-stock", other_store)).status_code == 403


def test_store_screens_list_the_stock_screens_by_role(client, staff, manager):
    client.force_login(staff)
    staff_page = client.get(reverse("store-home")).content.decode()
    client.force_login(manager)
    manager_page = client.get(reverse("store-home")).content.decode()

    assert reverse("inventory:stock-lookup") in staff_page
    assert reverse("inventory:stock-adjust") not in staff_page
    assert reverse("inventory:stock-adjust") in manager_page


# --- Lookup ------------------------------------------------------------------------------------


def test_lookup_shows_this_store_first_then_nearby_stores_then_warehouses(
    client, staff, store, other_store, variant
):
    far_store = StoreFactory(
        code="MAR01", latitude=Decimal("43.297600"), longitude=Decimal("5.381000")
    )
    empty_store = StoreFactory(code="PAR03")
    warehouse = WarehouseFactory(code="WH-NORD")
    receive(store, variant, 3)
    services.stock_reserve(
        location=store, lines=[services.StockLine(variant.pk, 1)], reference="CMD-1"
    )
    receive(far_store, variant, 4)
    receive(other_store, variant, 2)
    receive(warehouse, variant, 40)
    client.force_login(staff)

    response = client.get(url("stock-lookup", q="ROBE-NOIR"))

    [result] = response.context["results"]
    rows = [(row.location.code, row.on_hand, row.reserved, row.available) for row in result.rows]
    assert rows == [
        ("PAR01", 3, 1, 2),
        ("PAR02", 2, 0, 2),
        ("MAR01", 4, 0, 4),
        ("WH-NORD", 40, 0, 40),
    ]
    assert empty_store.code not in {row[0] for row in rows}
    assert 'hx-trigger="every 3s"' in response.content.decode()


@pytest.mark.parametrize("query", ["ROBE-NOIR-M", "3100000000017", "iris noir"])
def test_lookup_finds_an_article_by_sku_ean_or_name(client, staff, variant, query):
    VariantFactory(sku="PULL-BLEU-S", name="Pull bleu S")
    client.force_login(staff)

    response = client.get(url("stock-lookup", q=query))

    assert [result.variant for result in response.context["results"]] == [variant]


def test_the_htmx_refresh_returns_only_the_results_with_the_latest_figures(
    client, staff, store, variant
):
    receive(store, variant, 3)
    client.force_login(staff)
    client.get(url("stock-lookup", store, q=variant.sku))
    services.stock_sell(
        location=store, lines=[services.StockLine(variant.pk, 1)], reference="TILL-1"
    )

    response = client.get(url("stock-lookup", store, q=variant.sku), HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.templates[0].name == "inventory/_stock_results.html"
    assert "<html" not in page
    assert response.context["results"][0].here.on_hand == 2


def _stock_everywhere(count_stores: int, count_variants: int) -> None:
    stores = [StoreFactory() for _ in range(count_stores)]
    variants = [VariantFactory(name=f"Jupe plissée {n}") for n in range(count_variants)]
    for location in [*stores, WarehouseFactory()]:
        services.stock_receive(
            location=location,
            lines=[services.StockLine(v.pk, 3) for v in variants],
            reference="test",
        )


@pytest.mark.parametrize(("stores", "variants"), [(1, 1), (12, 20)])
def test_lookup_query_count_does_not_grow_with_stores_or_variants(
    client, staff, django_assert_max_num_queries, stores, variants
):
    _stock_everywhere(stores, variants)
    client.force_login(staff)

    with django_assert_max_num_queries(9):
        response = client.get(url("stock-lookup", q="jupe"), HTTP_HX_REQUEST="true")

    assert len(response.context["results"]) == variants


# --- Low stock ---------------------------------------------------------------------------------


def test_low_stock_lists_articles_at_or_under_their_threshold(client, staff, store):
    low = VariantFactory(sku="LOW", low_stock_threshold=2)
    enough = VariantFactory(sku="ENOUGH", low_stock_threshold=2)
    held = VariantFactory(sku="HELD", low_stock_threshold=2)
    receive(store, low, 2)
    receive(store, enough, 3)
    receive(store, held, 4)
    services.stock_reserve(location=store, lines=[services.StockLine(held.pk, 3)], reference="C")
    client.force_login(staff)

    response = client.get(reverse("inventory:low-stock"))

    assert [level.variant.sku for level in response.context["levels"]] == ["HELD", "LOW"]


@pytest.mark.parametrize("variants", [1, 30])
def test_low_stock_query_count_does_not_grow(
    client, staff, store, django_assert_max_num_queries, variants
):
    for n in range(variants):
        receive(store, VariantFactory(name=f"Short {n}"), 1)
    client.force_login(staff)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("inventory:low-stock"))

    assert len(response.context["levels"]) == variants


# --- Managers' forms ---------------------------------------------------------------------------


def test_a_manager_receives_stock_into_the_ledger(client, manager, store, variant):
    client.force_login(manager)

    response = client.post(
        url("stock-receive", store), {"article": variant.ean, "quantity": 6, "reference": "BL-42"}
    )

    assert response.status_code == 302
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.reference) == ("receipt", 6, "BL-42")
    assert (movement.location, movement.performed_by) == (store, manager)
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 6


def test_a_manager_adjusts_stock_with_a_reason(client, manager, store, variant):
    receive(store, variant, 5)
    client.force_login(manager)

    response = client.post(
        url("stock-adjust", store), {"article": variant.sku, "delta": -2, "reason": "casse"}
    )

    assert response.status_code == 302
    movement = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert (movement.on_hand_delta, movement.reason, movement.performed_by) == (
        -2,
        "casse",
        manager,
    )
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 3


def test_a_manager_counts_stock(client, manager, store, variant):
    receive(store, variant, 5)
    client.force_login(manager)

    client.post(url("stock-count", store), {"article": variant.sku, "counted": 4})

    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 4
    assert StockMovement.objects.get(kind=MovementKind.COUNT).on_hand_delta == -1


def test_a_manager_sends_a_transfer_and_the_destination_receives_it(
    client, make_staff, manager, store, other_store, variant
):
    receive(store, variant, 5)
    client.force_login(manager)

    response = client.post(
        url("transfer-ship", store),
        {"destination": other_store.pk, "article": variant.sku, "quantity": 2},
    )

    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.source, transfer.destination, transfer.created_by) == (
        store,
        other_store,
        manager,
    )
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 3

    receive_url = reverse("inventory:transfer-receive", args=[transfer.pk])
    assert client.post(receive_url).status_code == 403  # her store sent it, it is not hers to take
    other_manager = make_staff(roles.STORE_MANAGER, stores=[other_store])
    client.force_login(other_manager)
    assert transfer.reference in client.get(reverse("inventory:transfers")).content.decode()

    client.post(receive_url)

    transfer.refresh_from_db()
    assert (transfer.status, transfer.received_by) == (TransferStatus.RECEIVED, other_manager)
    assert StockLevel.objects.get(variant=variant, location=other_store).on_hand == 2


BAD_INPUTS = [
    ("stock-receive", {"article": "ROBE-NOIR-M", "quantity": 0, "reference": "BL"}, "quantity"),
    ("stock-receive", {"article": "ROBE-NOIR-M", "quantity": -3, "reference": "BL"}, "quantity"),
    ("stock-receive", {"article": "NOPE", "quantity": 1, "reference": "BL"}, "article"),
    ("stock-receive", {"article": "ROBE-NOIR-M", "quantity": 1, "reference": ""}, "reference"),
    ("stock-adjust", {"article": "ROBE-NOIR-M", "delta": -1, "reason": ""}, "reason"),
    ("stock-adjust", {"article": "ROBE-NOIR-M", "delta": 0, "reason": "casse"}, "delta"),
    ("stock-adjust", {"article": "NOPE", "delta": 1, "reason": "trouvé"}, "article"),
    ("stock-count", {"article": "ROBE-NOIR-M", "counted": -1}, "counted"),
    (
        "transfer-ship",
        {"article": "ROBE-NOIR-M", "quantity": 0, "destination": "other"},
        "quantity",
    ),
    (
        "transfer-ship",
        {"article": "ROBE-NOIR-M", "quantity": 1, "destination": "self"},
        "destination",
    ),
]


@pytest.mark.parametrize(("screen", "data", "field"), BAD_INPUTS)
def test_bad_input_is_a_form_error_and_writes_nothing(
    client, manager, store, other_store, variant, screen, data, field
):
    receive(store, variant, 5)
    if "destination" in data:
        data = {**data, "destination": (store if data["destination"] == "self" else other_store).pk}
    client.force_login(manager)

    response = client.post(url(screen, store), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 5
    assert not Transfer.objects.exists()


def test_a_broken_stock_rule_becomes_a_form_error_and_writes_nothing(
    client, manager, store, other_store, variant
):
    receive(store, variant, 1)
    client.force_login(manager)

    response = client.post(
        url("transfer-ship", store),
        {"destination": other_store.pk, "article": variant.sku, "quantity": 2},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert not Transfer.objects.exists()
    assert StockMovement.objects.count() == 1


def test_removing_more_than_is_on_hand_is_a_form_error(client, manager, store, variant):
    receive(store, variant, 1)
    client.force_login(manager)

    response = client.post(
        url("stock-adjust", store), {"article": variant.sku, "delta": -5, "reason": "casse"}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert StockLevel.objects.get(variant=variant, location=store).on_hand == 1


# --- Shortages ---------------------------------------------------------------------------------


@pytest.fixture
def shortage(store, variant) -> Shortage:
    receive(store, variant, 2)
    services.stock_reserve(
        location=store, lines=[services.StockLine(variant.pk, 2)], reference="CMD-7"
    )
    [shortage] = services.stock_count(location=store, variant_id=variant.pk, counted=0).shortages
    return shortage


def test_the_shortage_queue_lists_open_shortages_of_the_store(client, staff, shortage):
    client.force_login(staff)

    response = client.get(reverse("inventory:shortages"))

    assert list(response.context["shortages"]) == [shortage]
    assert "CMD-7" in response.content.decode()
    assert reverse("inventory:shortage-cancel", args=[shortage.pk]) not in response.content.decode()


def test_managers_see_how_to_resolve_each_shortage(client, manager, shortage, other_store):
    client.force_login(manager)

    page = client.get(reverse("inventory:shortages")).content.decode()

    assert reverse("inventory:shortage-cancel", args=[shortage.pk]) in page
    assert f'<option value="{other_store.pk}">' in page


def test_a_manager_reallocates_a_shortage_to_another_location(
    client, manager, shortage, other_store, variant
):
    receive(other_store, variant, 3)
    client.force_login(manager)

    response = client.post(
        reverse("inventory:shortage-reallocate", args=[shortage.pk]), {"location": other_store.pk}
    )

    assert response.status_code == 302
    shortage.refresh_from_db()
    assert (shortage.status, shortage.resolution_location) == (
        ShortageStatus.REALLOCATED,
        other_store,
    )
    assert StockLevel.objects.get(variant=variant, location=other_store).reserved == 2


def test_reallocating_where_there_is_no_stock_leaves_the_shortage_open(
    client, manager, shortage, other_store
):
    client.force_login(manager)

    response = client.post(
        reverse("inventory:shortage-reallocate", args=[shortage.pk]),
        {"location": other_store.pk},
        follow=True,
    )

    shortage.refresh_from_db()
    assert shortage.status == ShortageStatus.OPEN
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_a_manager_cancels_a_shortage(client, manager, shortage):
    client.force_login(manager)

    client.post(reverse("inventory:shortage-cancel", args=[shortage.pk]), {"note": "client"})

    shortage.refresh_from_db()
    assert (shortage.status, shortage.note, shortage.resolved_by) == (
        ShortageStatus.CANCELLED,
        "client",
        manager,
    )


def test_store_staff_and_other_managers_cannot_resolve_shortages(
    client, make_staff, staff, shortage, other_store
):
    cancel = reverse("inventory:shortage-cancel", args=[shortage.pk])
    client.force_login(staff)
    assert client.post(cancel).status_code == 403
    client.force_login(make_staff(roles.STORE_MANAGER, stores=[other_store]))
    assert client.post(cancel).status_code == 403

    shortage.refresh_from_db()
    assert shortage.status == ShortageStatus.OPEN
