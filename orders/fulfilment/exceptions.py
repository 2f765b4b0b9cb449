"""Broken fulfilment and return rules. Each is a DomainError: the API answers with its status
and code, the staff screens show its detail as an error."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status_code = 409
    default_detail = _("This status change is not allowed.")


class WrongPickupCode(DomainError):
    code = "wrong_pickup_code"
    status_code = 400
    default_detail = _("This is not the pickup code of the order.")


class PickupProofRequired(DomainError):
    code = "pickup_proof_required"
    status_code = 400
    default_detail = _("Enter the pickup code, or check the customer's identity.")


class ShippingDetailsRequired(DomainError):
    code = "shipping_details_required"
    status_code = 400
    default_detail = _("A shipped parcel needs its carrier and tracking number.")


class NotShipFromStore(DomainError):
    code = "not_ship_from_store"
    status_code = 409
    default_detail = _("Only a store shipping from store can accept or reject a parcel.")


class ReasonRequired(DomainError):
    code = "reason_required"
    status_code = 400
    default_detail = _("Give a reason.")


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    status_code = 409
    default_detail = _(
        "Part of this order was already collected or shipped: it cannot be cancelled."
    )


class ReturnTooMany(DomainError):
    code = "return_too_many"
    status_code = 409
    default_detail = _("More units than were bought and not yet returned.")


class InvalidReturn(DomainError):
    code = "invalid_return"
    status_code = 400
    default_detail = _("Choose at least one line of this order and a quantity above zero.")


class RefundTooHigh(DomainError):
    code = "refund_too_high"
    status_code = 409
    default_detail = _("The refund is more than was paid for these lines.")
