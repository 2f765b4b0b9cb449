"""omni.db: statements written out, several models' new rows in one of them, rows of
hand-written statements read back (real PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import MovementKind, Reservation, StockMovement, Variant
from inventory.services._ledger import MOVEMENTS, RESERVATIONS
from omni.db import Insert, insert_together, insert_unless_conflict, model_from_row
from orders.models import CheckoutRequest
from orders.services.idempotency import CHECKOUT_REQUEST
from tests.inventory.factories import StoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _movements(variants, store, reference: str = "R-1") -> list[StockMovement]:
    return [
        StockMovement(
            variant=variant,
            location=store,
            kind=MovementKind.RESERVATION,
            reserved_delta=n + 1,
            reference=reference,
        )
        for n, variant in enumerate(variants)
    ]


def _reservation(variant, store, quantity: int) -> Reservation:
    return Reservation(variant=variant, location=store, quantity=quantity, reference="R-1")


def test_groups_of_several_models_go_in_one_statement_with_their_keys_set():
    store = StoreFactory()
    variants = VariantFactory.create_batch(3)
    reservations = [_reservation(variant, store, 2) for variant in variants[:2]]
    movements = _movements(variants, store)

    with CaptureQueriesContext(connection) as queries:
        written = insert_together((RESERVATIONS, reservations), (MOVEMENTS, movements))

    assert len(queries) == 1
    assert written == [2, 3]
    assert all(row.pk and not row._state.adding for row in [*reservations, *movements])
    assert [row.pk for row in movements] == sorted(row.pk for row in movements)
    stored = StockMovement.objects.filter(reference="R-1").order_by("pk")
    assert [(row.pk, row.variant_id, row.reserved_delta) for row in stored] == [
        (row.pk, row.variant_id, row.reserved_delta) for row in movements
    ]
    assert stored[0].created_at == movements[0].created_at is not None  # auto_now_add, as save()
    assert Reservation.objects.get(pk=reservations[1].pk).quantity == 2


def test_a_statement_ignoring_conflicts_writes_nothing_on_a_conflict_and_the_rest_goes_in():
    store = StoreFactory()
    variant = VariantFactory()
    CheckoutRequest.objects.create(scope="web", key="K-1", request_hash="a" * 64)
    twin = CheckoutRequest(scope="web", key="K-1", request_hash="b" * 64)
    movements = _movements([variant], store)

    written = insert_together((CHECKOUT_REQUEST, [twin]), (MOVEMENTS, movements))

    assert written == [0, 1]
    assert twin.pk is None
    assert movements[0].pk is not None
    assert CheckoutRequest.objects.get(scope="web", key="K-1").request_hash == "a" * 64
    assert insert_unless_conflict(CHECKOUT_REQUEST, twin) is False
    other = CheckoutRequest(scope="web", key="K-2", request_hash="c" * 64)
    assert insert_unless_conflict(CHECKOUT_REQUEST, other) is True
    assert CheckoutRequest.objects.get(pk=other.pk).key == "K-2"


def test_nothing_to_write_runs_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert insert_together((RESERVATIONS, []), (MOVEMENTS, [])) == [0, 0]
    assert len(queries) == 0


def test_each_call_writes_its_own_values_and_stamps():
    store = StoreFactory()
    variants = VariantFactory.create_batch(4)
    first = _movements(variants[:2], store, "R-A")
    insert_together((MOVEMENTS, first))
    second = _movements(variants[2:], store, "R-B")
    second[1].on_hand_delta, second[1].reason = -9, "l'été"
    insert_together((MOVEMENTS, second))

    stored = {row.pk: row for row in StockMovement.objects.filter(reference="R-B")}
    assert [(stored[row.pk].variant_id, stored[row.pk].on_hand_delta) for row in second] == [
        (variants[2].pk, 0),
        (variants[3].pk, -9),
    ]
    assert stored[second[1].pk].reason == "l'été"
    assert second[0].created_at >= first[0].created_at


def test_json_and_decimal_values_are_prepared_as_save_prepares_them():
    body = {"number": "OM-1", "total": "12.50", "note": "l'été", "lines": [1, 2]}
    record = CheckoutRequest(scope="web", key="J-1", request_hash="d" * 64, response_body=body)
    assert insert_unless_conflict(CHECKOUT_REQUEST, record)
    stored = CheckoutRequest.objects.get(pk=record.pk)
    assert stored.response_body == body
    assert stored.created_at == record.created_at


def test_a_one_row_statement_refuses_several_rows_and_a_declaration_is_checked():
    records = [CheckoutRequest(scope="web", key=f"M-{n}", request_hash="e" * 64) for n in (1, 2)]
    with pytest.raises(ValueError, match="writes one row, not 2"):
        insert_together((CHECKOUT_REQUEST, records))
    with pytest.raises(ValueError, match="stored in orders_checkoutrequest"):
        Insert(CheckoutRequest, "INSERT INTO orders_order (scope) VALUES (%s) RETURNING id")
    with pytest.raises(ValueError, match="one placeholder per column"):
        Insert(
            CheckoutRequest,
            "INSERT INTO orders_checkoutrequest (scope, key) VALUES (%s) RETURNING id",
        )
    with pytest.raises(ValueError, match="RETURNING"):
        Insert(CheckoutRequest, "INSERT INTO orders_checkoutrequest (scope) VALUES (%s)")


def test_model_from_row_converts_a_raw_rows_json_as_the_orm_does():
    variant = VariantFactory(attributes={"size": "M", "colour": "noir"})
    names = [field.attname for field in Variant._meta.concrete_fields]
    columns = ", ".join(field.column for field in Variant._meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM inventory_variant WHERE id = %s", [variant.pk])
        row = cursor.fetchone()

    loaded = model_from_row(Variant, "default", names, row)

    assert loaded.attributes == {"size": "M", "colour": "noir"}
    assert (loaded.pk, loaded.price, loaded._state.adding) == (variant.pk, variant.price, False)


CHECKOUT_TABLES = (
    "orders_cart",
    "orders_order",
    "orders_fulfilment",
    "orders_notification",
    "inventory_reservation",
    "inventory_stockmovement",
    "customers_loyaltymovement",
)


def test_the_migrated_checkout_tables_carry_only_the_indexes_queries_use():
    """What the migrations left (in place: SeparateDatabaseAndState with RunSQL): no `_like`
    twin, no foreign-key index a composite one leads with, the unique constraints by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [list(CHECKOUT_TABLES)],
        )
        indexes = {name: (table, definition) for table, name, definition in cursor.fetchall()}
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text "
            "= ANY(%s)",
            [list(CHECKOUT_TABLES)],
        )
        unique = {row[0] for row in cursor.fetchall()}

    assert not [name for name, (_, definition) in indexes.items() if "pattern_ops" in definition]
    single_column = {
        (table, definition.split("(", 1)[1].rstrip(")"))
        for table, definition in indexes.values()
        if definition.count(",") == 0
    }
    for table, column in [
        ("orders_order", "customer_id"),
        ("orders_fulfilment", "location_id"),
        ("inventory_stockmovement", "variant_id"),
        ("customers_loyaltymovement", "account_id"),
    ]:
        assert (table, column) not in single_column
    assert {
        "cart_unique_token",
        "order_unique_number",
        "fulfilment_unique_reference",
        "notification_unique_key",
    } <= unique
    assert {"reservation_reference", "movement_reference"} <= set(indexes)
