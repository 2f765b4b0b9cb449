"""One campaign code, two checkouts at once (her app, and the till where she shows the SMS):
exactly one order gets the discount, the other is refused and writes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from campaigns.models import DiscountCode
from customers.models import Channel
from inventory.models import StockLevel
from orders.checkout import PaymentInfo, PickupChoice, StoreSaleChoice, order_checkout
from orders.checkout.exceptions import InvalidDiscountCode
from orders.models import CartStatus, Order
from tests.campaigns.discount_helpers import issued_code
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs at once, one thread and one connection each; each one's result or error."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # the test asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return results


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
