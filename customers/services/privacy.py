"""Data protection: export everything held about a customer, erase her personal data."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.contrib.auth.models import User
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.erasure import erase_hooks
from customers.exceptions import CustomerNotLive
from customers.merge import customer_foreign_keys, relation_label
from customers.models import (
    ConsentEvent,
    ConsentState,
    Customer,
    ErasedIdentity,
    Gender,
    IdentityKind,
    PrivacyAction,
    PrivacyRequest,
)


def identity_digest(*, kind: IdentityKind, value: str) -> str:
    """HMAC-SHA256 (keyed with SECRET_KEY) of a normalised email or E.164 phone: one way."""
    message = f"{kind}:{value.strip().lower()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _digests(*, email: str | None, phone: str | None) -> list[tuple[str, str]]:
    pairs = [(IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone)]
    return [(kind, identity_digest(kind=kind, value=value)) for kind, value in pairs if value]


def is_erased_identity(*, email: str | None, phone: str | None) -> bool:
    """Whether this email or phone belonged to a customer whose data was erased."""
    digests = _digests(email=email, phone=phone)
    if not digests:
        return False
    query = ErasedIdentity.objects.none()
    for kind, digest in digests:
        query = query | ErasedIdentity.objects.filter(kind=kind, digest=digest)
    return query.exists()


def _rows(queryset: QuerySet) -> list[dict]:
    text = serializers.serialize("json", queryset, cls=DjangoJSONEncoder)
    return [{"id": row["pk"], **row["fields"]} for row in json.loads(text)]


def customer_export(*, customer: Customer, performed_by: User | None) -> dict:
    """Everything held about a customer as JSON-ready data; logged as a PrivacyRequest.

    Related rows are found generically: whatever other apps point at the customer is included,
    under "app.Model.field".
    """
    with transaction.atomic():
        related = {}
        for field in customer_foreign_keys():
            rows = field.model._base_manager.filter(**{field.attname: customer.pk}).order_by("pk")
            if rows.exists():
                related[relation_label(field)] = _rows(rows)
        PrivacyRequest.objects.create(
            customer=customer, action=PrivacyAction.EXPORT, performed_by=performed_by
        )
    return {
        "exported_at": timezone.now().isoformat(),
        "customer": _rows(Customer.objects.filter(pk=customer.pk))[0],
        "related": related,
    }


def customer_erase(*, customer: Customer, performed_by: User | None, reason: str) -> PrivacyRequest:
    """Remove a customer's personal data; the row stays as an anonymised tombstone.

    Her email and phone go to the suppression list (one-way hashes) so that she is never targeted
    again, even if they are imported later. Registered erase hooks (customers.erasure) clear what
    other apps hold; orders and stock history keep pointing at the tombstone.

    Raises:
        CustomerNotLive: already erased or merged.
        ValidationError: no reason given.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the data is erased.")})
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if not customer.is_live:
            raise CustomerNotLive()
        for kind, digest in _digests(email=customer.email, phone=customer.phone):
            ErasedIdentity.objects.get_or_create(kind=kind, digest=digest)
        for hook in erase_hooks():
            hook(customer=customer, performed_by=performed_by)
        ConsentEvent.objects.filter(customer=customer).update(evidence="")
        ConsentState.objects.filter(customer=customer).delete()
        for name in ("email", "phone", "card_number", "birth_date", "preferred_store"):
            setattr(customer, name, None)
        for name in ("first_name", "last_name", "postal_code", "preferred_channel"):
            setattr(customer, name, "")
        customer.gender = Gender.UNKNOWN
        customer.erased_at = timezone.now()
        customer.suppressed = True
        customer.save()
        return PrivacyRequest.objects.create(
            customer=customer, action=PrivacyAction.ERASE, reason=reason, performed_by=performed_by
        )
