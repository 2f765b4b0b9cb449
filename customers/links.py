"""Signed links sent in messages: unsubscribe without logging in."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.core import signing
from django.urls import reverse

from customers.models import ContactChannel, Customer

# One salt per purpose: a token signed for one use is worthless for another.
UNSUBSCRIBE_SALT = "omni.customers.unsubscribe"
DEFAULT_UNSUBSCRIBE_MAX_AGE = 400 * 86_400  # old newsletters must keep working for a year


class UnsubscribeRequest(NamedTuple):
    customer_id: int
    channel: ContactChannel


def unsubscribe_max_age() -> int:
    return int(getattr(settings, "OMNI_UNSUBSCRIBE_MAX_AGE", DEFAULT_UNSUBSCRIBE_MAX_AGE))


def unsubscribe_token(*, customer: Customer, channel: ContactChannel) -> str:
    return signing.dumps({"customer": customer.pk, "channel": channel}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_path(*, customer: Customer, channel: ContactChannel) -> str:
    """The path of the unsubscribe page (the List-Unsubscribe URL too) for this message."""
    token = unsubscribe_token(customer=customer, channel=channel)
    return reverse("customers:unsubscribe", kwargs={"token": token})


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """Decode a token; signing.SignatureExpired or signing.BadSignature when not valid."""
    payload = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=unsubscribe_max_age())
    channel = payload.get("channel")
    if channel not in ContactChannel.values or not isinstance(payload.get("customer"), int):
        raise signing.BadSignature("unexpected payload")
    return UnsubscribeRequest(payload["customer"], ContactChannel(channel))
