"""What each order notification says, rendered in the customer's language."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from orders.models import Notification, NotificationKind


class Rendered(NamedTuple):
    subject: str
    body: str


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _store(notification: Notification) -> dict[str, str]:
    location = notification.fulfilment.location
    address = ", ".join(
        part
        for part in (location.address, f"{location.postal_code} {location.city}".strip())
        if part
    )
    return {"store": location.name, "address": address}


def _confirmed(notification: Notification, values: dict) -> Rendered:
    return Rendered(
        _("Your order %(number)s is confirmed") % values,
        _("Hello %(name)s, thank you for your order %(number)s (total %(total)s %(currency)s).")
        % values,
    )


def _ready(notification: Notification, values: dict) -> Rendered:
    values = {**values, **_store(notification), "code": notification.fulfilment.pickup_code}
    values["deadline"] = _when(notification.fulfilment.pickup_deadline)
    return Rendered(
        _("Your order %(number)s is ready for pickup") % values,
        _(
            "Hello %(name)s, your order %(number)s is ready at %(store)s, %(address)s. "
            "Your pickup code: %(code)s. Collect it before %(deadline)s."
        )
        % values,
    )


def _reminder(notification: Notification, values: dict) -> Rendered:
    values = {**values, **_store(notification), "code": notification.fulfilment.pickup_code}
    values["deadline"] = _when(notification.fulfilment.pickup_deadline)
    return Rendered(
        _("Your order %(number)s is waiting for you") % values,
        _(
            "Hello %(name)s, your order %(number)s is waiting at %(store)s, %(address)s, until "
            "%(deadline)s. Your pickup code: %(code)s."
        )
        % values,
    )


def _shipped(notification: Notification, values: dict) -> Rendered:
    fulfilment = notification.fulfilment
    values = {**values, "carrier": fulfilment.carrier, "tracking": fulfilment.tracking_number}
    return Rendered(
        _("Your order %(number)s has shipped") % values,
        _(
            "Hello %(name)s, a parcel of your order %(number)s has left us with %(carrier)s, "
            "tracking number %(tracking)s."
        )
        % values,
    )


def _refunded(notification: Notification, values: dict) -> Rendered:
    values = {
        **values,
        "refund": formats.number_format(notification.return_request.refund_amount, 2),
    }
    return Rendered(
        _("Your refund for order %(number)s") % values,
        _("Hello %(name)s, we have refunded %(refund)s %(currency)s for your order %(number)s.")
        % values,
    )


_RENDERERS = {
    NotificationKind.ORDER_CONFIRMED: _confirmed,
    NotificationKind.READY_FOR_PICKUP: _ready,
    NotificationKind.PICKUP_REMINDER: _reminder,
    NotificationKind.SHIPPED: _shipped,
    NotificationKind.REFUNDED: _refunded,
}


def render(notification: Notification) -> Rendered:
    """The subject and body of a notification, in its customer's language."""
    order = notification.order
    customer = order.customer
    with translation.override(customer.language or None):
        values = {
            "name": customer.first_name or str(customer),
            "number": order.number,
            "total": formats.number_format(order.total, 2),
            "currency": order.currency,
        }
        return _RENDERERS[notification.kind](notification, values)
