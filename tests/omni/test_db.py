"""omni.db: several models' new rows in one statement, statements written once per shape
(real PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from customers.models import Channel
from inventory.models import Location, Variant
from omni.db import insert_together, model_from_row
from orders.models import Cart, CartLine, CartStatus
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def _line(cart: Cart, variant, quantity: int = 1) -> CartLine:
    return CartLine(
        cart=cart,
        variant=variant,
        quantity=quantity,
        unit_price_seen=Decimal("10.00"),
        currency="EUR",
        added_channel=Channel.WEB,
    )


def test_groups_of_several_models_go_in_one_statement_with_their_keys_set():
    customer = CustomerFactory()
    variants = VariantFactory.create_batch(3)
    carts = [Cart(customer=customer, status=CartStatus.ABANDONED) for _ in range(2)]

    with CaptureQueriesContext(connection) as queries:
        written = insert_together(carts, [])
    lines = [_line(carts[0], variant) for variant in variants]
    with CaptureQueriesContext(connection) as more:
        written_lines = insert_together(lines, [_line(carts[1], variants[0], 2)])

    assert (len(queries), len(more)) == (1, 1)
    assert (written, written_lines) == ([2, 0], [3, 1])
    assert all(cart.pk and not cart._state.adding for cart in carts)
    assert [line.pk for line in lines] == sorted(line.pk for line in lines)
    stored = CartLine.objects.filter(cart=carts[0]).order_by("pk")
    assert [(line.pk, line.variant_id) for line in stored] == [
        (line.pk, line.variant_id) for line in lines
    ]
    assert stored[0].created_at is not None  # auto_now_add filled as by save()


def test_a_group_ignoring_conflicts_writes_nothing_on_a_conflict_and_the_rest_goes_in():
    customer = CustomerFactory()
    variant, other = VariantFactory.create_batch(2)
    cart = Cart.objects.create(customer=customer)
    _line(cart, variant).save()
    twin, new = _line(cart, variant, 5), _line(cart, other)

    written = insert_together([new], [twin], ignore_conflicts=(1,))

    assert written == [1, 0]
    assert new.pk is not None
    assert twin.pk is None
    assert CartLine.objects.get(cart=cart, variant=variant).quantity == 1


def test_nothing_to_write_runs_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert insert_together([], []) == [0, 0]
    assert len(queries) == 0


def test_a_shape_compiled_once_writes_each_calls_own_values_and_stamps():
    """The second insert of a shape reuses the first one's statement text (omni.db keeps it
    per process): its rows must still carry their own values, and their own created_at."""
    customer = CustomerFactory()
    variants = VariantFactory.create_batch(4)
    first_carts = [Cart(customer=customer, status=CartStatus.ABANDONED)]
    second_carts = [Cart(customer=customer, status=CartStatus.MERGED)]
    with CaptureQueriesContext(connection) as first:
        insert_together(first_carts)
        insert_together([_line(first_carts[0], v, 1) for v in variants[:2]])
    with CaptureQueriesContext(connection) as second:
        insert_together(second_carts)
        lines = [_line(second_carts[0], v, q) for v, q in zip(variants[2:], (7, 9), strict=True)]
        insert_together(lines)

    assert (len(first), len(second)) == (2, 2)
    assert Cart.objects.get(pk=second_carts[0].pk).status == CartStatus.MERGED
    stored = {line.pk: line for line in CartLine.objects.filter(cart=second_carts[0])}
    assert [(stored[line.pk].variant_id, stored[line.pk].quantity) for line in lines] == [
        (variants[2].pk, 7),
        (variants[3].pk, 9),
    ]
    assert second_carts[0].created_at > first_carts[0].created_at
    assert Cart.objects.get(pk=second_carts[0].pk).created_at == second_carts[0].created_at


def test_json_and_decimal_values_round_trip_through_a_reused_shape():
    hours = [{"0": ["09:00", "12:00"]}, {"1": ["10:00", "19:00"], "note": "l'été"}]
    for round_ in range(2):
        stores = [
            Location(
                code=f"J{round_}{n}",
                name=f"Store {n}",
                kind="store",
                latitude=Decimal("48.123456"),
                opening_hours=hours[n],
            )
            for n in range(2)
        ]
        insert_together(stores)
        for store, expected in zip(stores, hours, strict=True):
            stored = Location.objects.get(pk=store.pk)
            assert (stored.opening_hours, stored.latitude) == (expected, Decimal("48.123456"))


def test_an_expression_value_is_compiled_and_written():
    customer = CustomerFactory()
    carts = [Cart(customer=customer, status=CartStatus.ABANDONED) for _ in range(2)]
    insert_together(carts)
    later = Cart(customer=customer, status=CartStatus.ABANDONED, created_at=Now())
    insert_together([later])
    assert Cart.objects.get(pk=later.pk).created_at is not None


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
