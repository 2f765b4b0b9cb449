"""Broken cart and order rules. Each is a DomainError: the API answers with its status and code."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class CartNotEditable(DomainError):
    code = "cart_not_editable"
    status_code = 409
    default_detail = _("This cart can no longer be changed (checkout started, ordered or merged).")


class CartCheckoutInProgress(DomainError):
    code = "cart_checkout_in_progress"
    status_code = 409
    default_detail = _("The checkout of this cart has started: nothing can be merged into it.")


class CartMergeRefused(DomainError):
    code = "cart_merge_refused"
    status_code = 409
    default_detail = _("These two carts cannot be merged.")


class InvalidCartQuantity(DomainError):
    code = "invalid_quantity"
    status_code = 400
    default_detail = _("Quantities must be whole numbers above zero.")


class VariantNotSold(DomainError):
    code = "unknown_variant"
    status_code = 400
    default_detail = _("This article does not exist or is not sold any more.")


class CartLineNotFound(DomainError):
    code = "cart_line_not_found"
    status_code = 404
    default_detail = _("This line is not in the cart.")


class NoReachableChannel(DomainError):
    code = "no_reachable_channel"
    status_code = 409
    default_detail = _("The customer cannot be reached on any channel she consented to.")


class CartNotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = _("No such cart.")
