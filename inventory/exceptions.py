"""Broken stock rules. Each is a DomainError: the API answers with its status and code."""

from omni.exceptions import DomainError


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    status_code = 409
    default_detail = "Not enough stock to cover every line."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    status_code = 400
    default_detail = "Quantities must be whole numbers above zero."


class UnknownVariant(DomainError):
    code = "unknown_variant"
    status_code = 400
    default_detail = "This article does not exist or is not sold any more."


class ServiceNotOffered(DomainError):
    code = "service_not_offered"
    status_code = 400
    default_detail = "This location does not offer that service."


class SameLocation(DomainError):
    code = "same_location"
    status_code = 400
    default_detail = "A transfer needs two different locations."


class ReasonRequired(DomainError):
    code = "reason_required"
    status_code = 400
    default_detail = "An adjustment needs a reason."


class ReservationNotActive(DomainError):
    code = "reservation_not_active"
    status_code = 409
    default_detail = "This reservation is no longer active."


class InvalidStateChange(DomainError):
    code = "invalid_state"
    status_code = 409
    default_detail = "This change is not allowed in the current state."
