"""Two channels editing one cart at the same time: no line, no unit and no event is lost."""

import threading

import pytest
from django.db import connection

from customers.models import Channel
from orders import services
from orders.models import Cart, CartEvent, CartLine
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory

ROUNDS = 25


def run_together(*jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except Exception as error:  # reported to the test below, which fails on it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_the_app_and_the_store_adding_at_once_lose_nothing():
    customer = CustomerFactory()
    dress = VariantFactory()
    cart = services.cart_for_customer(customer=customer, channel=Channel.APP)

    def add_from(channel):
        def job():
            for _round in range(ROUNDS):
                services.cart_add_line(cart=cart, variant=dress, quantity=1, channel=channel)

        return job

    errors = run_together(add_from(Channel.APP), add_from(Channel.STORE))

    assert errors == []
    assert CartLine.objects.get(cart=cart).quantity == 2 * ROUNDS
    # Each event saw the quantity the one before it left: the edits were serialised.
    steps = list(
        CartEvent.objects.filter(cart=cart)
        .order_by("pk")
        .values_list("quantity_before", "quantity_after")
    )
    assert steps == [(n, n + 1) for n in range(2 * ROUNDS)]


@pytest.mark.django_db(transaction=True)
def test_two_channels_opening_her_first_cart_at_once_share_one_cart():
    customer = CustomerFactory()
    found = []

    def open_from(channel):
        return lambda: found.append(services.cart_for_customer(customer=customer, channel=channel))

    errors = run_together(open_from(Channel.APP), open_from(Channel.WEB))

    assert errors == []
    assert len({cart.pk for cart in found}) == 1
    assert Cart.objects.filter(customer=customer).count() == 1
