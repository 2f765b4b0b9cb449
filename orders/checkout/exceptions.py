"""Broken checkout rules. Each is a DomainError: the API answers with its status and code."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class EmptyCart(DomainError):
    code = "empty_cart"
    status_code = 400
    default_detail = _("The cart is empty: there is nothing to order.")


class OutOfStock(DomainError):
    code = "insufficient_stock"
    status_code = 409
    default_detail = _("Some articles are out of stock for this choice.")


class PaymentMismatch(DomainError):
    code = "payment_amount_mismatch"
    status_code = 400
    default_detail = _("The payment amount does not match the order total.")


class InvalidPayment(DomainError):
    code = "invalid_payment"
    status_code = 400
    default_detail = _("A payment must be authorised or captured.")


class PaymentRequired(DomainError):
    code = "payment_required"
    status_code = 400
    default_detail = _("A payment is required for this order.")


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status_code = 400
    default_detail = _("The Idempotency-Key header is required.")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    default_detail = _("This Idempotency-Key was already used with another request body.")


class AddressRequired(DomainError):
    code = "address_required"
    status_code = 400
    default_detail = _("A home delivery needs a delivery address.")


class PointsNeedCustomer(DomainError):
    code = "points_need_customer"
    status_code = 400
    default_detail = _("Loyalty points can only pay for a customer's order.")


class PointsExceedTotal(DomainError):
    code = "points_exceed_total"
    status_code = 400
    default_detail = _("The loyalty points used are worth more than the order.")


class InvalidDiscountCode(DomainError):
    """A discount code the checkout refuses: the reason is on the `discount_code` field."""

    code = "invalid_discount_code"
    status_code = 400
    default_detail = _("This discount code does not exist.")

    def __init__(self, detail: str | None = None, **extra) -> None:
        detail = str(detail or self.default_detail)
        extra.setdefault("fields", {"discount_code": [detail]})
        super().__init__(detail, **extra)

    @classmethod
    def unknown(cls) -> "InvalidDiscountCode":
        return cls(_("This discount code does not exist."))

    @classmethod
    def expired(cls) -> "InvalidDiscountCode":
        return cls(_("This discount code has expired."))

    @classmethod
    def used(cls) -> "InvalidDiscountCode":
        return cls(_("This discount code has already been used."))

    @classmethod
    def not_hers(cls) -> "InvalidDiscountCode":
        return cls(_("This discount code belongs to another customer."))
