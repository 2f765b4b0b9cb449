"""Sending her a link to finish online: pick a channel she can be reached on, record it on the
cart's trail, and send a signed link after commit (orders.tasks.send_cart_link).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.selectors import MessagePurpose, reachable_channels
from omni.messaging import DeliveryResult, DeliveryStatus, send_message
from orders.exceptions import CartNotFound, NoReachableChannel
from orders.models import Cart, CartAction, CartEvent, CartStatus
from orders.services.cart import _lock_editable, _record

CART_LINK_SALT = "orders.cart-link"
# The web shop page that reopens a cart from a signed link (it calls `cart_from_link`).
DEFAULT_SHOP_CART_URL = "https://shop.omni.example/cart/resume"
CART_LINK_MAX_AGE = 7 * 24 * 3600  # seconds


class TransientDeliveryError(Exception):
    """The channel backend asked to retry later: the task retries with backoff."""


def cart_send_link(*, cart: Cart, channel: str, performed_by: User | None) -> str:
    """Queue a signed link to the customer's cart on a channel she consented to; return it.

    Raises:
        NoReachableChannel: an anonymous cart, or no channel the customer can be reached on.
        CartNotEditable: the cart is not active.
    """
    with transaction.atomic():
        cart = _lock_editable(cart)
        if cart.customer is None:
            raise NoReachableChannel()
        # A link back to a cart is commercial: only a channel she consented to (issue 4), her
        # preferred one first.
        reachable = reachable_channels(customer=cart.customer, purpose=MessagePurpose.MARKETING)
        if not reachable:
            raise NoReachableChannel()
        via = reachable[0]
        event = _record(
            cart=cart,
            action=CartAction.SEND_LINK,
            channel=channel,
            performed_by=performed_by,
            detail={"via": via},
        )
        from orders.tasks import send_cart_link  # the task module imports this one

        # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
        send_cart_link.delay_on_commit(event.pk)  # type: ignore[attr-defined]
    return via


def cart_link_url(*, cart: Cart) -> str:
    """The signed URL of the web shop page that reopens this customer's cart."""
    signed = signing.dumps({"cart": cart.pk, "customer": cart.customer_id}, salt=CART_LINK_SALT)
    base = getattr(settings, "OMNI_SHOP_CART_URL", DEFAULT_SHOP_CART_URL)
    return f"{base}?link={signed}"


def cart_from_link(*, signed: str) -> Cart:
    """The customer's open cart named by a signed link.

    Raises:
        CartNotFound: a forged or expired link, or a cart that is not open any more.
    """
    try:
        payload = signing.loads(signed, salt=CART_LINK_SALT, max_age=CART_LINK_MAX_AGE)
    except signing.BadSignature as error:
        raise CartNotFound() from error
    cart = Cart.objects.filter(
        pk=payload.get("cart"), customer_id=payload.get("customer"), status=CartStatus.ACTIVE
    ).first()
    if cart is None:
        raise CartNotFound()
    return cart


def _address(customer: Customer, via: str) -> str:
    return {"email": customer.email, "sms": customer.phone}.get(via) or str(customer.pk)


def cart_link_deliver(*, event_id: int) -> DeliveryResult | None:
    """Send the link a `send_link` event asked for (at least once: the key makes it idempotent).

    Returns None when the cart or its customer has gone (erased) in the meantime.

    Raises:
        TransientDeliveryError: the backend asked to retry later.
    """
    event = (
        CartEvent.objects.select_related("cart__customer")
        .filter(pk=event_id, action=CartAction.SEND_LINK)
        .first()
    )
    if event is None or event.cart.customer is None:
        return None
    customer, via = event.cart.customer, event.detail["via"]
    with translation.override(customer.language):
        subject = _("Your cart is waiting for you")
        body = _("Hello %(name)s, finish your order online: %(url)s") % {
            "name": customer.first_name or customer,
            "url": cart_link_url(cart=event.cart),
        }
    result = send_message(
        channel=via,
        to=_address(customer, via),
        subject=subject,
        body=body,
        idempotency_key=f"orders.cart-link.{event.pk}",
    )
    if result.status == DeliveryStatus.RETRY:
        raise TransientDeliveryError(result.error)
    CartEvent.objects.filter(pk=event.pk).update(detail={**event.detail, "delivery": result.status})
    return result
