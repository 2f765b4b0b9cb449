"""Sending a customer a link to finish online: consented channel, trail, queued after commit."""

import json
import re

import pytest

from customers.models import Channel, ContactChannel
from customers.services import ConsentSource, consent_grant
from omni import roles
from orders import tasks
from orders.exceptions import CartNotFound, NoReachableChannel
from orders.models import CartAction, CartEvent, CartStatus
from orders.services import cart_from_link, cart_link_url, cart_send_link
from tests.customers.factories import CustomerFactory
from tests.orders.factories import AnonymousCartFactory, CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


def grant(customer, channel):
    consent_grant(customer=customer, channel=channel, source=ConsentSource(channel=Channel.STORE))


def test_the_link_goes_by_a_consented_channel_after_commit(
    make_staff, django_capture_on_commit_callbacks, settings, tmp_path
):
    sink = tmp_path / "sms.jsonl"
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "sms": "omni.messaging.backends.FileBackend",
    }
    settings.OMNI_MESSAGING_OPTIONS = {**settings.OMNI_MESSAGING_OPTIONS, "sms": {"path": sink}}
    customer = CustomerFactory(first_name="Léa")
    grant(customer, ContactChannel.SMS)
    cart = CartLineFactory(cart=CartFactory(customer=customer)).cart
    vendeur = make_staff(roles.STORE_STAFF)

    with django_capture_on_commit_callbacks() as callbacks:
        via = cart_send_link(cart=cart, channel=Channel.STORE, performed_by=vendeur)
        assert not sink.exists()

    assert via == ContactChannel.SMS
    event = CartEvent.objects.get(cart=cart)
    assert (event.action, event.channel, event.performed_by, event.detail) == (
        CartAction.SEND_LINK,
        Channel.STORE,
        vendeur,
        {"via": "sms"},
    )
    assert len(callbacks) == 1

    tasks.send_cart_link(event.pk)  # the task body, as a worker would run it

    sent = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [(m["to"], m["key"]) for m in sent] == [(customer.phone, f"orders.cart-link.{event.pk}")]
    # The link is signed with the time: read it back rather than sign another one.
    [link] = re.findall(r"(\S+\?link=\S+)", sent[0]["body"])
    assert link.startswith(cart_link_url(cart=cart).split("?link=")[0])
    assert cart_from_link(signed=link.split("?link=")[1]) == cart
    event.refresh_from_db()
    assert event.detail == {"via": "sms", "delivery": "sent"}


def test_no_consent_no_link(make_staff, django_capture_on_commit_callbacks):
    cart = CartFactory()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(NoReachableChannel):
        cart_send_link(cart=cart, channel=Channel.STORE, performed_by=make_staff(None))

    assert callbacks == []
    assert not CartEvent.objects.exists()


def test_an_anonymous_cart_has_no_one_to_send_to():
    with pytest.raises(NoReachableChannel):
        cart_send_link(cart=AnonymousCartFactory(), channel=Channel.STORE, performed_by=None)


def test_the_signed_link_reopens_the_cart_until_it_is_ordered():
    customer = CustomerFactory()
    cart = CartFactory(customer=customer)
    signed = cart_link_url(cart=cart).split("link=", 1)[1]

    assert cart_from_link(signed=signed) == cart
    with pytest.raises(CartNotFound):
        cart_from_link(signed=signed[:-2] + "xx")
    cart.status = CartStatus.CONVERTED
    cart.save()
    with pytest.raises(CartNotFound):
        cart_from_link(signed=signed)
