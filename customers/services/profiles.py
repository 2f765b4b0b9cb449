"""Identity: find or create the one profile of a person; change a profile's details."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from customers.exceptions import CustomerNotLive, IdentityConflict
from customers.models import Channel, Customer
from customers.phone import normalise_phone
from customers.services.privacy import is_erased_identity
from inventory.models import Location

KEYS = ("email", "phone", "card_number")
RESOLVE_ATTEMPTS = 3


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


@dataclass(frozen=True)
class ProfileChanges:
    """The profile fields to set; UNSET leaves a field as it is. None or "" clears a key."""

    first_name: str | _Unset = UNSET
    last_name: str | _Unset = UNSET
    email: str | _Unset | None = UNSET
    phone: str | _Unset | None = UNSET
    card_number: str | _Unset | None = UNSET
    birth_date: date | _Unset | None = UNSET
    gender: str | _Unset = UNSET
    postal_code: str | _Unset = UNSET
    preferred_store: Location | _Unset | None = UNSET
    preferred_channel: str | _Unset = UNSET
    language: str | _Unset = UNSET

    def given(self) -> dict[str, Any]:
        """The fields to change (those not UNSET), by name."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != UNSET
        }


def normalise_email(raw: str | None) -> str | None:
    """Lower-case and strip an email; None when blank. ValidationError if malformed."""
    value = (raw or "").strip().lower()
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationError(_("Enter a valid email address."), code="invalid_email") from exc
    return value


def normalise_card(raw: str | None) -> str | None:
    """Strip spaces and upper-case a loyalty card number; None when blank."""
    value = "".join((raw or "").split()).upper()
    return value or None


def _normalise_keys(*, email: str | None, phone: str | None, card_number: str | None) -> dict:
    """Return the given keys normalised; ValidationError naming each malformed one."""
    keys, errors = {}, {}
    for name, raw, normalise in (
        ("email", email, normalise_email),
        ("phone", phone, lambda value: normalise_phone(value) if value else None),
        ("card_number", card_number, normalise_card),
    ):
        try:
            value = normalise(raw.strip() if isinstance(raw, str) else raw)
        except ValidationError as exc:
            errors[name] = exc.messages
            continue
        if value:
            keys[name] = value
    if errors:
        raise ValidationError(errors)
    return keys


def _key_filter(name: str, value: str) -> Q:
    return Q(email_lower=value) if name == "email" else Q(**{name: value})


def _holders(keys: dict[str, str], *, exclude: int | None = None) -> dict[str, Customer]:
    """Map each key to the customer holding it (keys are unique: at most one each)."""
    if not keys:
        return {}
    query = Q()
    for name, value in keys.items():
        query |= _key_filter(name, value)
    found = Customer.objects.alias(email_lower=Lower("email")).filter(query)
    if exclude is not None:
        found = found.exclude(pk=exclude)
    holders: dict[str, Customer] = {}
    for customer in found:
        for name, value in keys.items():
            current = getattr(customer, name)
            if current and current.lower() == value.lower():
                holders[name] = customer
    return holders


def customer_resolve(
    *,
    email: str | None = None,
    phone: str | None = None,
    card_number: str | None = None,
    defaults: ProfileChanges | None = None,
    channel: Channel,
    performed_by: User | None = None,
) -> tuple[Customer, bool]:
    """Find the customer holding any of the keys, or create her; return (customer, created).

    Keys found on the customer are kept; keys she lacks are added to her profile. A new profile
    whose email or phone was erased before is created flagged `suppressed` (she may buy again,
    she is never targeted). Concurrent calls for one person end on one profile: the unique
    constraints reject the second insert and the lookup runs again.

    Raises:
        ValidationError: no key given, or a malformed one (per field).
        IdentityConflict: the keys belong to two or more different customers.
    """
    keys = _normalise_keys(email=email, phone=phone, card_number=card_number)
    if not keys:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Give an email, a phone number or a loyalty card number.")}
        )
    for attempt in range(RESOLVE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(keys=keys, defaults=defaults, channel=channel)
        except IntegrityError:
            if attempt == RESOLVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_once(
    *, keys: dict[str, str], defaults: ProfileChanges | None, channel: Channel
) -> tuple[Customer, bool]:
    holders = _holders(keys)
    distinct = {customer.pk: customer for customer in holders.values()}
    if len(distinct) > 1:
        raise IdentityConflict(
            _("These details belong to customers %(ids)s: merge them first.")
            % {"ids": ", ".join(f"#{pk}" for pk in sorted(distinct))},
            customer_ids=sorted(distinct),
            keys={name: customer.pk for name, customer in holders.items()},
        )
    suppressed = is_erased_identity(email=keys.get("email"), phone=keys.get("phone"))
    if distinct:
        customer = Customer.objects.select_for_update().get(pk=next(iter(distinct)))
        missing = [name for name in keys if not getattr(customer, name)]
        for name in missing:
            setattr(customer, name, keys[name])
        if missing or (suppressed and not customer.suppressed):
            customer.suppressed = customer.suppressed or suppressed
            customer.save(update_fields=[*missing, "suppressed", "updated_at"])
        return customer, False
    given = defaults.given() if defaults else {}
    profile = {name: value for name, value in given.items() if name not in KEYS}
    customer = Customer.objects.create(
        **profile, **keys, created_channel=channel, suppressed=suppressed
    )
    return customer, True


def customer_update(
    *, customer: Customer, changes: ProfileChanges, performed_by: User | None = None
) -> Customer:
    """Change a customer's profile; all or nothing.

    Raises:
        ValidationError: per field: malformed email or phone, a key held by another customer.
        CustomerNotLive: the profile was merged or erased.
    """
    if not customer.is_live:
        raise CustomerNotLive()
    given = changes.given()
    raw_keys = {name: given[name] for name in KEYS if name in given}
    keys = _normalise_keys(**{name: raw_keys.get(name) for name in KEYS})
    taken = _holders({k: v for k, v in keys.items() if k in raw_keys}, exclude=customer.pk)
    if taken:
        raise ValidationError(
            {name: _("Already used by another customer.") for name in sorted(taken)}
        )
    for name, value in given.items():
        setattr(customer, name, keys.get(name) if name in KEYS else value)
    if is_erased_identity(email=customer.email, phone=customer.phone):
        customer.suppressed = True
    try:
        with transaction.atomic():
            customer.save(update_fields=[*given, "suppressed", "updated_at"])
    except IntegrityError as exc:  # another customer took a key between the check and the save
        customer.refresh_from_db()
        raise ValidationError(
            {name: _("Already used by another customer.") for name in raw_keys}
        ) from exc
    return customer
