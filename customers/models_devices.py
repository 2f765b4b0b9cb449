"""The customer's app installations: where a push notification can go.

A push consent says she agreed to be notified; a device says where. Rows are written only by
`customers.services.devices` (register, unregister, disable on a provider's report). A token
names one installation of the app: it is unique across customers, and moves to whoever
registers it last (a phone changes hands).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Provider tokens: FCM registration tokens run to ~160 characters, APNs device tokens to 64 hex
# digits (Apple warns they may grow); 512 leaves room without accepting a whole document.
TOKEN_MAX_LENGTH = 512
# Letters, digits and the punctuation provider tokens use (base64, FCM's ':'); no comma and no
# whitespace, so a list of tokens joins with ',' unambiguously (omni.messaging.push_recipient).
TOKEN_PATTERN = r"^[A-Za-z0-9_:.+/=-]+$"


class DevicePlatform(models.TextChoices):
    IOS = "ios", _("iOS")
    ANDROID = "android", _("Android")
    WEB = "web", _("Web browser")


class DeviceDisabledReason(models.TextChoices):
    NONE = "", _("None")
    UNREGISTERED = "unregistered", _("Unregistered by the app")
    PROVIDER_REJECTED = "provider_rejected", _("Token rejected by the push provider")
    STAFF = "staff", _("Stopped by staff")


class Device(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="devices",
    )
    platform = models.CharField(_("platform"), max_length=7, choices=DevicePlatform.choices)
    token = models.CharField(_("push token"), max_length=TOKEN_MAX_LENGTH)
    app_version = models.CharField(_("app version"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(
        _("disabled because"),
        max_length=17,
        choices=DeviceDisabledReason.choices,
        blank=True,
        default=DeviceDisabledReason.NONE,
    )
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("disabled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The staff member who stopped push to this device, if one did."),
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="device_token_unique"),
            models.CheckConstraint(condition=~Q(token=""), name="device_token_not_blank"),
            # Active means not disabled, and a disabled device says why.
            models.CheckConstraint(
                condition=Q(active=True, disabled_at__isnull=True, disabled_reason="")
                | (Q(active=False, disabled_at__isnull=False) & ~Q(disabled_reason="")),
                name="device_active_or_disabled_with_reason",
            ),
        ]
        indexes = [
            # Who has somewhere to receive a push: the reachability EXISTS and the token lookup
            # at send time read only active rows.
            models.Index(
                fields=["customer"], name="device_active_by_customer", condition=Q(active=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.token_prefix}"

    @property
    def token_prefix(self) -> str:
        """Enough of the token to tell devices apart on a screen, not enough to use it."""
        return f"{self.token[:12]}…" if len(self.token) > 12 else self.token
