"""The cart's operations: lines, the channel trail, errors that write nothing."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from customers.models import Channel
from omni import roles
from orders import services
from orders.exceptions import (
    CartLineNotFound,
    CartNotEditable,
    InvalidCartQuantity,
    VariantNotSold,
)
from orders.models import Cart, CartAction, CartEvent, CartLine, CartStatus
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


def trail(cart):
    return list(
        CartEvent.objects.filter(cart=cart)
        .order_by("pk")
        .values_list("action", "channel", "by_customer", "quantity_before", "quantity_after")
    )


def test_cart_for_customer_creates_one_cart_then_returns_it():
    customer = CustomerFactory()

    first = services.cart_for_customer(customer=customer, channel=Channel.APP)
    again = services.cart_for_customer(customer=customer, channel=Channel.STORE)

    assert again.pk == first.pk
    assert (first.channel, first.status) == (Channel.APP, CartStatus.ACTIVE)
    assert Cart.objects.filter(customer=customer).count() == 1


def test_anonymous_carts_get_distinct_unguessable_tokens():
    first = services.cart_create_anonymous(channel=Channel.WEB)
    second = services.cart_create_anonymous(channel=Channel.WEB)

    assert first.customer is None
    assert first.token != second.token
    assert len(first.token) >= 40


def test_adding_a_variant_twice_adds_up_on_one_line_at_the_price_seen():
    cart = CartFactory()
    variant = VariantFactory(price=Decimal("59.00"))

    services.cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.APP)
    line = services.cart_add_line(cart=cart, variant=variant, quantity=2, channel=Channel.WEB)

    assert CartLine.objects.filter(cart=cart).count() == 1
    line.refresh_from_db()
    assert (line.quantity, line.unit_price_seen, line.currency, line.added_channel) == (
        3,
        Decimal("59.00"),
        "EUR",
        Channel.APP,
    )
    assert trail(cart) == [
        (CartAction.ADD, Channel.APP, True, 0, 1),
        (CartAction.ADD, Channel.WEB, True, 1, 3),
    ]


def test_the_trail_shows_added_on_the_app_changed_and_seen_in_store(make_staff):
    cart = CartFactory()
    variant = VariantFactory()
    vendeur = make_staff(roles.STORE_STAFF)

    line = services.cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.APP)
    services.cart_record_open(cart=cart, channel=Channel.STORE, performed_by=vendeur)
    services.cart_set_quantity(
        cart=cart, line_id=line.pk, quantity=2, channel=Channel.STORE, performed_by=vendeur
    )
    services.cart_remove_line(
        cart=cart, line_id=line.pk, channel=Channel.STORE, performed_by=vendeur
    )

    assert trail(cart) == [
        (CartAction.ADD, Channel.APP, True, 0, 1),
        (CartAction.OPEN, Channel.STORE, False, None, None),
        (CartAction.CHANGE, Channel.STORE, False, 1, 2),
        (CartAction.REMOVE, Channel.STORE, False, 2, 0),
    ]
    staff_events = CartEvent.objects.filter(cart=cart, performed_by=vendeur)
    assert staff_events.count() == 3
    assert not CartLine.objects.filter(cart=cart).exists()


def test_a_staff_line_remembers_who_added_it(make_staff):
    cart = CartFactory()
    vendeur = make_staff(roles.STORE_STAFF)

    line = services.cart_add_line(
        cart=cart,
        variant=VariantFactory(),
        quantity=1,
        channel=Channel.STORE,
        performed_by=vendeur,
    )

    assert (line.added_channel, line.added_by) == (Channel.STORE, vendeur)


def test_every_change_moves_the_last_activity_forward():
    cart = CartFactory()
    before = cart.last_activity_at

    services.cart_add_line(cart=cart, variant=VariantFactory(), quantity=1, channel=Channel.WEB)

    cart.refresh_from_db()
    assert cart.last_activity_at > before


@pytest.mark.parametrize("quantity", [0, -1, 1000, True])
def test_a_quantity_out_of_range_is_refused_and_writes_nothing(quantity):
    cart = CartFactory()

    with pytest.raises(InvalidCartQuantity):
        services.cart_add_line(
            cart=cart, variant=VariantFactory(), quantity=quantity, channel=Channel.WEB
        )

    assert not CartLine.objects.filter(cart=cart).exists()
    assert not CartEvent.objects.filter(cart=cart).exists()


def test_adding_beyond_the_line_maximum_is_refused_and_keeps_the_line():
    line = CartLineFactory(quantity=998)

    with pytest.raises(InvalidCartQuantity):
        services.cart_add_line(
            cart=line.cart, variant=line.variant, quantity=2, channel=Channel.WEB
        )

    line.refresh_from_db()
    assert line.quantity == 998


@pytest.mark.parametrize("inactive", ["variant", "product"])
def test_an_article_no_longer_sold_is_refused(inactive):
    cart = CartFactory()
    variant = VariantFactory()
    target = variant if inactive == "variant" else variant.product
    target.is_active = False
    target.save()

    with pytest.raises(VariantNotSold):
        services.cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.WEB)

    assert not CartLine.objects.filter(cart=cart).exists()


def test_a_line_of_another_cart_cannot_be_changed_or_removed():
    mine = CartFactory()
    other_line = CartLineFactory(quantity=2)

    with pytest.raises(CartLineNotFound):
        services.cart_set_quantity(
            cart=mine, line_id=other_line.pk, quantity=5, channel=Channel.WEB
        )
    with pytest.raises(CartLineNotFound):
        services.cart_remove_line(cart=mine, line_id=other_line.pk, channel=Channel.WEB)

    other_line.refresh_from_db()
    assert other_line.quantity == 2
    assert not CartEvent.objects.exists()


def test_setting_a_quantity_of_zero_is_refused():
    line = CartLineFactory(quantity=2)

    with pytest.raises(InvalidCartQuantity):
        services.cart_set_quantity(cart=line.cart, line_id=line.pk, quantity=0, channel="web")

    line.refresh_from_db()
    assert line.quantity == 2


@pytest.mark.parametrize("status", [CartStatus.CHECKING_OUT, CartStatus.CONVERTED])
def test_a_cart_past_checkout_cannot_be_changed(status):
    cart = CartFactory(status=status)

    with pytest.raises(CartNotEditable):
        services.cart_add_line(cart=cart, variant=VariantFactory(), quantity=1, channel="web")

    assert not CartLine.objects.filter(cart=cart).exists()


def test_a_stale_cart_object_is_checked_against_the_locked_row():
    cart = CartFactory()
    Cart.objects.filter(pk=cart.pk).update(status=CartStatus.MERGED)

    with pytest.raises(CartNotEditable):
        services.cart_add_line(cart=cart, variant=VariantFactory(), quantity=1, channel="web")


def test_only_one_open_cart_per_customer_is_allowed_by_the_database():
    cart = CartFactory(status=CartStatus.CHECKING_OUT)

    with pytest.raises(IntegrityError), transaction.atomic():
        CartFactory(customer=cart.customer)
    CartFactory(customer=cart.customer, status=CartStatus.CONVERTED)
    AnonymousCartFactory()
    AnonymousCartFactory()
