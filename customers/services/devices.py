"""The device register: where a customer's push notifications go.

Register (idempotent on the token, which moves to whoever registers it last: a phone changes
hands), unregister (the app signs out or the customer turns notifications off on this phone),
disable (the push provider reported the token invalid). A device is never deleted here: a
disabled row keeps when and why it stopped receiving; erasing the customer deletes them
(`erase_devices`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exceptions import CustomerNotLive, DeviceNotFound
from customers.models import Customer, Device, DeviceDisabledReason, DevicePlatform
from customers.models_devices import TOKEN_MAX_LENGTH, TOKEN_PATTERN

TOKEN_RE = re.compile(TOKEN_PATTERN)


class DeviceRegistration(NamedTuple):
    """The device now registered for her, and whether its token was new."""

    device: Device
    created: bool  # False: the token was known (hers or someone else's) and is hers again now


def token_errors(token: str) -> list[str]:
    """What is wrong with a push token as the app sent it (empty list: nothing)."""
    if not token:
        return [_("The push token is empty.")]
    if len(token) > TOKEN_MAX_LENGTH:
        return [_("The push token is longer than %(max)d characters.") % {"max": TOKEN_MAX_LENGTH}]
    if not TOKEN_RE.match(token):
        return [_("The push token holds characters no push provider uses.")]
    return []


def _validate(*, platform: str, token: str) -> None:
    errors = {}
    if platform not in DevicePlatform.values:
        errors["platform"] = [_("Unknown platform: %(platform)s.") % {"platform": platform}]
    if problems := token_errors(token):
        errors["token"] = problems
    if errors:
        raise ValidationError(errors)


def device_register(
    *,
    customer: Customer,
    platform: DevicePlatform | str,
    token: str,
    app_version: str = "",
) -> DeviceRegistration:
    """Record that this app installation can receive the customer's push notifications.

    A token already known (on her profile or another's) is moved to her, reactivated and marked
    seen now; the app may call this on every launch.

    Raises:
        ValidationError: unknown platform, empty, oversized or malformed token.
        CustomerNotLive: the profile was merged or erased.
    """
    _validate(platform=platform, token=token)
    if not customer.is_live:
        raise CustomerNotLive()
    now = timezone.now()
    fields = {
        "customer": customer,
        "platform": platform,
        "app_version": app_version[:40],
        "active": True,
        "disabled_at": None,
        "disabled_reason": DeviceDisabledReason.NONE,
        "last_seen_at": now,
    }
    with transaction.atomic():
        # The unique token with get_or_create under select_for_update: an existing row is locked
        # before it is changed, and two first registrations of one token make one row.
        device, created = Device.objects.select_for_update().get_or_create(
            token=token, defaults=fields
        )
        if not created:
            for name, value in fields.items():
                setattr(device, name, value)
            device.save(update_fields=list(fields))
    return DeviceRegistration(device=device, created=created)


def _disable(device: Device, *, reason: DeviceDisabledReason, by: User | None = None) -> Device:
    device.active = False
    device.disabled_at = timezone.now()
    device.disabled_reason = reason
    device.disabled_by = by
    device.save(update_fields=["active", "disabled_at", "disabled_reason", "disabled_by"])
    return device


def device_unregister(
    *,
    token: str,
    customer: Customer | None = None,
    performed_by: User | None = None,
) -> Device:
    """Stop sending push notifications to this installation: the app says so, or a staff member
    (`performed_by`, kept on the device with its own reason) does it for the customer.

    With `customer`, only her own device: someone else's token is as unknown as a made-up one.
    Unregistering a device already disabled changes nothing.

    Raises:
        DeviceNotFound: no such token (on her profile, when `customer` is given).
    """
    with transaction.atomic():
        devices = Device.objects.select_for_update().filter(token=token)
        if customer is not None:
            devices = devices.filter(customer=customer)
        device = devices.first()
        if device is None:
            raise DeviceNotFound()
        if not device.active:
            return device
        if performed_by is not None:
            return _disable(device, reason=DeviceDisabledReason.STAFF, by=performed_by)
        return _disable(device, reason=DeviceDisabledReason.UNREGISTERED)


def device_disable(
    *, token: str, reason: DeviceDisabledReason = DeviceDisabledReason.PROVIDER_REJECTED
) -> Device | None:
    """Stop using a token the push provider reported invalid; None for a token Omni does not
    know (nothing to do). A device already disabled keeps its first reason."""
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(token=token, active=True).first()
        if device is None:
            return None
        return _disable(device, reason=reason)


def devices_disable_rejected(*, tokens: list[str]) -> int:
    """Disable every active device among `tokens` (a provider's report); return how many."""
    disabled = 0
    for token in sorted(set(tokens)):  # one short transaction each, in a fixed order
        if device_disable(token=token, reason=DeviceDisabledReason.PROVIDER_REJECTED):
            disabled += 1
    return disabled


def erase_devices(*, customer: Customer, performed_by: User | None) -> None:
    """Erasure hook: a push token identifies her phone; the rows go with her personal data."""
    Device.objects.filter(customer=customer).delete()


def on_push_tokens_rejected(sender: object, *, tokens: list[str], **kwargs: object) -> None:
    """Receiver of omni.messaging's `push_tokens_rejected` (connected in CustomersConfig)."""
    devices_disable_rejected(tokens=list(tokens))
