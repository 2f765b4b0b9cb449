"""Broken customer rules. Each is a DomainError: the API answers with its status and code."""

from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError


class IdentityConflict(DomainError):
    code = "identity_conflict"
    status_code = 409
    default_detail = _("These details belong to different customers: merge them first.")


class MergeRefused(DomainError):
    code = "merge_refused"
    status_code = 409
    default_detail = _("These profiles cannot be merged.")


class CustomerNotLive(DomainError):
    code = "customer_not_live"
    status_code = 409
    default_detail = _("This profile was merged or erased.")


class NoAddress(DomainError):
    code = "no_address"
    status_code = 400
    default_detail = _("The customer has no address for this channel.")


class DeviceNotFound(DomainError):
    code = "device_not_found"
    status_code = 404
    default_detail = _("No device with this push token is registered to this customer.")
