"""One campaign code, two checkouts at once (her app, and the till where she shows the SMS):
exactly one order gets the discount, the other is refused and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.models import DiscountCode
from customers.models import Channel
from inventory.models import StockLevel
from orders.checkout import PaymentInfo, PickupChoice, StoreSaleChoice
from orders.checkout.exceptions import InvalidDiscountCode
from orders.models import CartStatus, Order
from orders.services import order_checkout
from tests.campaigns.discount_helpers import issued_code
from tests.concurrency import race
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_checkouts_with_one_code_give_one_discounted_order(round_):
    store = StoreFactory(click_and_collect=True)
    dress = VariantFactory(price=Decimal("50.00"))
    StockLevelFactory(location=store, variant=dress, on_hand=10)
    lea = CustomerFactory()
    code = issued_code(lea, percent="10")
    online = CartFactory(customer=lea)
    CartLineFactory(cart=online, variant=dress, quantity=1)
    till = AnonymousCartFactory(channel=Channel.STORE)
    CartLineFactory(cart=till, variant=dress, quantity=1)

    def checkout(cart, fulfilment, channel):
        return lambda: order_checkout(
            cart=cart,
            channel=channel,
            fulfilment=fulfilment,
            payment=PaymentInfo(
                provider="card",
                reference=f"pay-{cart.pk}",
                status="captured",
                amount=Decimal("45.00"),
            ),
            discount_code=code.code,
        )

    results = race(
        checkout(online, PickupChoice(store=store), Channel.APP),
        checkout(till, StoreSaleChoice(store=store), Channel.STORE),
    )

    orders = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if isinstance(result, InvalidDiscountCode)]
    assert (len(orders), len(refused)) == (1, 1), results
    assert refused[0].detail == "This discount code has already been used."
    [order] = orders
    assert Order.objects.get().pk == order.pk
    code.refresh_from_db()
    assert code.redeemed_order_id == order.pk
    assert DiscountCode.objects.filter(redeemed_order__isnull=False).count() == 1
    level = StockLevel.objects.get(location=store, variant=dress)
    assert level.on_hand - level.reserved == 9  # only the winner's unit left the shelf
    loser = till if order.cart_id == online.pk else online
    loser.refresh_from_db()
    assert loser.status == CartStatus.ACTIVE
