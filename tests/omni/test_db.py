"""omni.db.insert_together: several models' new rows in one statement (real PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Channel
from omni.db import insert_together
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
