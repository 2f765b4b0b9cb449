"""Broken loyalty rules: DomainErrors, so the API answers with their status and code."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status_code = 409
    default_detail = _("The customer does not hold that many points.")


class LoyaltyReferenceUsed(DomainError):
    code = "loyalty_reference_used"
    status_code = 409
    default_detail = _("Points were already recorded for this reference on another customer.")
