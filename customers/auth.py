"""Customer-scoped API authentication: `Authorization: Customer <token>`.

The e-commerce site signs the shopper in on its side, then asks Omni for a token naming her
(POST /api/v1/auth/customer-token/, with its own service-account token). The token is a signed,
timestamped object (django.core.signing, salt below): nothing is stored, it expires after
settings.OMNI_CUSTOMER_TOKEN_MAX_AGE seconds (default 86400), and rotating SECRET_KEY revokes
every token. A call carrying it only ever sees that customer's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from customers.models import Customer

KEYWORD = "Customer"
SALT = "omni.customers.api-token"
DEFAULT_MAX_AGE = 86_400


def token_max_age() -> int:
    return int(getattr(settings, "OMNI_CUSTOMER_TOKEN_MAX_AGE", DEFAULT_MAX_AGE))


def customer_token(*, customer: Customer) -> str:
    """A signed token naming the customer, valid for token_max_age() seconds."""
    return signing.TimestampSigner(salt=SALT).sign_object({"customer": customer.pk})


@dataclass(frozen=True)
class CustomerPrincipal:
    """request.user for customer-token calls: not a Django user, one identity per customer."""

    customer: Customer
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> str:
        # DRF's UserRateThrottle keys on request.user.pk: one bucket per customer.
        return f"customer:{self.customer.pk}"

    @property
    def id(self) -> str:
        return self.pk

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perms, obj: object = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.pk


class CustomerTokenAuthentication(BaseAuthentication):
    """Authenticate `Authorization: Customer <token>` as a CustomerPrincipal."""

    def authenticate(self, request: Request) -> tuple[CustomerPrincipal, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed customer token header."))
        token = parts[1].decode("ascii", errors="replace")
        try:
            payload = signing.TimestampSigner(salt=SALT).unsign_object(
                token, max_age=token_max_age()
            )
        except signing.SignatureExpired as exc:
            raise exceptions.AuthenticationFailed(_("The customer token has expired.")) from exc
        except signing.BadSignature as exc:
            raise exceptions.AuthenticationFailed(_("Invalid customer token.")) from exc
        customer = Customer.objects.live().filter(pk=payload.get("customer")).first()
        if customer is None:
            raise exceptions.AuthenticationFailed(_("This customer account is closed."))
        return CustomerPrincipal(customer=customer), token

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class IsCustomer(BasePermission):
    """Only calls authenticated by a customer token."""

    def has_permission(self, request: Request, view) -> bool:
        return isinstance(request.user, CustomerPrincipal)


def request_customer(request: Request) -> Customer:
    """The customer a customer-token call acts for; PermissionDenied for any other caller."""
    if not isinstance(request.user, CustomerPrincipal):
        raise exceptions.PermissionDenied(_("A customer token is required."))
    return request.user.customer


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    """Shows the customer token in the OpenAPI schema."""

    target_class = "customers.auth.CustomerTokenAuthentication"
    name = "customerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _(
                "`Customer <token>`, a token from POST /api/v1/auth/customer-token/ (see README)."
            ),
        }
