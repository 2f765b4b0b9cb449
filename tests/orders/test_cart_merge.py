"""The merge policy: quantities added, duplicates collapsed, nothing lost, the trail kept."""

from decimal import Decimal

import pytest

from customers.models import Channel
from customers.services import customer_merge
from orders import services
from orders.cart.selectors import cart_trail
from orders.exceptions import CartCheckoutInProgress, CartMergeRefused
from orders.models import Cart, CartAction, CartEvent, CartLine, CartStatus
from orders.services import cart_merge, cart_merge_customers
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


def lines_of(cart):
    return sorted(
        CartLine.objects.filter(cart=cart).values_list(
            "variant__sku", "quantity", "added_channel", "unit_price_seen"
        )
    )


def test_an_anonymous_cart_merges_into_the_customers_cart():
    dress, bag, scarf = (
        VariantFactory(sku="DRESS-M", price=Decimal("80.00")),
        VariantFactory(sku="BAG", price=Decimal("120.00")),
        VariantFactory(sku="SCARF", price=Decimal("25.00")),
    )
    customer_cart = CartFactory(channel=Channel.APP)
    services.cart_add_line(cart=customer_cart, variant=dress, quantity=1, channel=Channel.APP)
    services.cart_add_line(cart=customer_cart, variant=scarf, quantity=1, channel=Channel.STORE)
    anonymous = services.cart_create_anonymous(channel=Channel.WEB)
    services.cart_add_line(cart=anonymous, variant=dress, quantity=2, channel=Channel.WEB)
    services.cart_add_line(cart=anonymous, variant=bag, quantity=1, channel=Channel.WEB)

    report = cart_merge(source=anonymous, target=customer_cart, channel=Channel.WEB)

    assert lines_of(customer_cart) == [
        ("BAG", 1, Channel.WEB, Decimal("120.00")),
        ("DRESS-M", 3, Channel.APP, Decimal("80.00")),
        ("SCARF", 1, Channel.STORE, Decimal("25.00")),
    ]
    assert [(m.sku, m.quantity, m.quantity_before, m.quantity_after) for m in report.lines] == [
        ("DRESS-M", 2, 1, 3),
        ("BAG", 1, 0, 1),
    ]
    assert (report.source_id, report.target_id, report.already_merged) == (
        anonymous.pk,
        customer_cart.pk,
        False,
    )
    anonymous.refresh_from_db()
    assert (anonymous.status, anonymous.merged_into) == (CartStatus.MERGED, customer_cart)
    # Nothing lost: the source keeps its lines, and its trail is part of the target's.
    assert lines_of(anonymous) == [
        ("BAG", 1, Channel.WEB, Decimal("120.00")),
        ("DRESS-M", 2, Channel.WEB, Decimal("80.00")),
    ]
    merges = CartEvent.objects.filter(cart=customer_cart, action=CartAction.MERGE).order_by("pk")
    assert [(e.variant.sku, e.origin_channel, e.detail) for e in merges] == [
        ("DRESS-M", Channel.WEB, {"source_cart": anonymous.pk}),
        ("BAG", Channel.WEB, {"source_cart": anonymous.pk}),
    ]
    assert [e.action for e in cart_trail(cart=customer_cart)] == [
        CartAction.ADD,
        CartAction.ADD,
        CartAction.ADD,
        CartAction.ADD,
        CartAction.MERGE,
        CartAction.MERGE,
        CartAction.MERGE,
    ]


def test_a_merged_line_keeps_the_channel_it_was_first_added_on():
    target = CartFactory()
    source = AnonymousCartFactory()
    CartLineFactory(cart=source, added_channel=Channel.APP, quantity=2)

    report = cart_merge(source=source, target=target, channel=Channel.WEB)

    assert report.lines[0].origin_channel == Channel.APP
    assert CartLine.objects.get(cart=target).added_channel == Channel.APP


def test_a_target_whose_checkout_started_is_never_merged_into():
    target = CartFactory(status=CartStatus.CHECKING_OUT)
    CartLineFactory(cart=target, quantity=1)
    source = AnonymousCartFactory()
    CartLineFactory(cart=source, quantity=4)

    with pytest.raises(CartCheckoutInProgress):
        cart_merge(source=source, target=target, channel=Channel.WEB)

    source.refresh_from_db()
    assert source.status == CartStatus.ACTIVE
    assert [line.quantity for line in CartLine.objects.filter(cart=target)] == [1]
    assert not CartEvent.objects.exists()


def test_a_cart_of_another_customer_is_never_merged():
    target = CartFactory()
    stranger = CartFactory()
    CartLineFactory(cart=stranger)

    with pytest.raises(CartMergeRefused):
        cart_merge(source=stranger, target=target, channel=Channel.WEB)

    assert not CartLine.objects.filter(cart=target).exists()


def test_a_cart_is_not_merged_into_itself():
    cart = CartFactory()

    with pytest.raises(CartMergeRefused):
        cart_merge(source=cart, target=cart, channel=Channel.WEB)


def test_merging_again_changes_nothing():
    target = CartFactory()
    source = AnonymousCartFactory()
    CartLineFactory(cart=source, quantity=2)
    cart_merge(source=source, target=target, channel=Channel.WEB)

    again = cart_merge(source=source, target=target, channel=Channel.WEB)

    assert (again.already_merged, again.lines) == (True, ())
    assert [line.quantity for line in CartLine.objects.filter(cart=target)] == [2]


def test_merging_two_profiles_folds_the_losers_cart_into_the_winners():
    winner, loser = CustomerFactory(), CustomerFactory()
    variant = VariantFactory()
    winner_cart = CartFactory(customer=winner)
    loser_cart = CartFactory(customer=loser)
    CartLineFactory(cart=winner_cart, variant=variant, quantity=1)
    CartLineFactory(cart=loser_cart, variant=variant, quantity=2, added_channel=Channel.STORE)

    report = cart_merge_customers(winner=winner, loser=loser)

    assert [(m.quantity_before, m.quantity_after) for m in report.lines] == [(1, 3)]
    loser_cart.refresh_from_db()
    assert loser_cart.status == CartStatus.MERGED
    # Re-pointing the loser's rows at the winner now keeps one open cart.
    Cart.objects.filter(customer=loser).update(customer=winner)
    assert Cart.objects.filter(customer=winner, status=CartStatus.ACTIVE).count() == 1


def test_merging_profiles_with_one_cart_leaves_it_to_be_re_pointed():
    winner, loser = CustomerFactory(), CustomerFactory()
    cart = CartFactory(customer=loser)

    assert cart_merge_customers(winner=winner, loser=loser) is None
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE


@pytest.mark.parametrize("in_checkout", ["winner", "loser"])
def test_merging_profiles_waits_for_a_started_checkout(in_checkout):
    winner, loser = CustomerFactory(), CustomerFactory()
    for name, customer in (("winner", winner), ("loser", loser)):
        status = CartStatus.CHECKING_OUT if name == in_checkout else CartStatus.ACTIVE
        CartFactory(customer=customer, status=status)

    with pytest.raises(CartCheckoutInProgress):
        cart_merge_customers(winner=winner, loser=loser)

    assert not Cart.objects.filter(status=CartStatus.MERGED).exists()


def test_customer_merge_runs_the_cart_hook_so_the_winner_keeps_one_cart():
    winner, loser = CustomerFactory(), CustomerFactory()
    variant = VariantFactory()
    winner_cart = CartFactory(customer=winner)
    CartLineFactory(cart=winner_cart, variant=variant, quantity=1)
    CartLineFactory(cart=CartFactory(customer=loser), variant=variant, quantity=2)

    customer_merge(winner=winner, loser=loser, performed_by=None)

    open_carts = Cart.objects.filter(customer=winner, status__in=[CartStatus.ACTIVE])
    assert [cart.pk for cart in open_carts] == [winner_cart.pk]
    assert CartLine.objects.get(cart=winner_cart).quantity == 3
    assert Cart.objects.filter(customer=winner, status=CartStatus.MERGED).count() == 1
