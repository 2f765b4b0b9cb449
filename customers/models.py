"""Customer profiles: one per person, whatever the channel she came through; her consents."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from omni.models import TimeStampedModel


class Channel(models.TextChoices):
    """Where something happened: the channels Omni unifies."""

    WEB = "web", _("Web shop")
    APP = "app", _("Mobile app")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    ADMIN = "admin", _("Back office")


class ContactChannel(models.TextChoices):
    """How a customer can be reached."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Push notification")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Not given")
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    OTHER = "x", _("Other")


class CustomerQuerySet(models.QuerySet["Customer"]):
    def live(self) -> CustomerQuerySet:
        """Profiles that are neither merged into another nor erased."""
        return self.filter(merged_into__isnull=True, erased_at__isnull=True)


class Customer(TimeStampedModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # NULL, not "", when absent: the unique constraints then only bind the known values.
    email = models.EmailField(_("email"), max_length=254, null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(_("phone (E.164)"), max_length=16, null=True, blank=True)  # noqa: DJ001
    card_number = models.CharField(  # noqa: DJ001
        _("loyalty card number"), max_length=20, null=True, blank=True
    )
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, blank=True, default=Gender.UNKNOWN
    )
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    preferred_store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("preferred store"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=5, choices=ContactChannel.choices, blank=True
    )
    language = models.CharField(_("language"), max_length=5, default="fr")
    created_channel = models.CharField(
        _("created on"), max_length=5, choices=Channel.choices, default=Channel.WEB
    )
    # A merged profile stays as a tombstone pointing at the profile that absorbed it.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_profiles",
    )
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    # Set when the profile matches an erased identity: never targeted, whatever its consents.
    suppressed = models.BooleanField(_("suppressed (erased identity)"), default=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["last_name", "first_name", "pk"]
        permissions = [
            ("issue_customer_token", _("Can issue customer API tokens")),
            ("merge_customer", _("Can merge customer profiles")),
            ("export_customer", _("Can export a customer's personal data")),
            ("erase_customer", _("Can erase a customer's personal data")),
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_unique_ci"),
            models.UniqueConstraint(fields=["phone"], name="customer_phone_unique"),
            models.UniqueConstraint(fields=["card_number"], name="customer_card_unique"),
            models.CheckConstraint(condition=~Q(email=""), name="customer_email_null_not_blank"),
            models.CheckConstraint(condition=~Q(phone=""), name="customer_phone_null_not_blank"),
            models.CheckConstraint(
                condition=~Q(card_number=""), name="customer_card_null_not_blank"
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_live(self) -> bool:
        return self.merged_into_id is None and self.erased_at is None


class ConsentAction(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class OptInLevel(models.TextChoices):
    SINGLE = "single", _("Single opt-in")
    CONFIRMED = "confirmed", _("Confirmed opt-in")


class DoNotContactReason(models.TextChoices):
    NONE = "", _("None")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINT = "complaint", _("Complaint")
    MANUAL = "manual", _("Manual")


class ConsentEvent(models.Model):
    """One consent decision; append-only (services only insert), the legal history."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="consent_events",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ContactChannel.choices)
    action = models.CharField(_("action"), max_length=10, choices=ConsentAction.choices)
    opt_in_level = models.CharField(
        _("opt-in level"), max_length=10, choices=OptInLevel.choices, blank=True
    )
    reason = models.CharField(
        _("do-not-contact reason"),
        max_length=12,
        choices=DoNotContactReason.choices,
        blank=True,
        default=DoNotContactReason.NONE,
    )
    source_channel = models.CharField(_("source channel"), max_length=5, choices=Channel.choices)
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    text_version = models.CharField(_("consent text version"), max_length=40, blank=True)
    # Personal evidence (IP address, the address consented with): blanked on erasure.
    evidence = models.CharField(_("evidence"), max_length=200, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["customer", "channel", "-created_at"], name="consent_event_history"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action="granted", reason="") | Q(action="withdrawn"),
                name="consent_event_grant_has_no_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.action}"


class ConsentState(models.Model):
    """The current consent per customer and channel, written with each ConsentEvent."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ContactChannel.choices)
    granted = models.BooleanField(_("granted"))
    opt_in_level = models.CharField(
        _("opt-in level"), max_length=10, choices=OptInLevel.choices, blank=True
    )
    reason = models.CharField(
        _("do-not-contact reason"),
        max_length=12,
        choices=DoNotContactReason.choices,
        blank=True,
        default=DoNotContactReason.NONE,
    )
    last_event = models.ForeignKey(
        ConsentEvent, verbose_name=_("last event"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_state_unique"),
        ]
        indexes = [
            # Who granted a channel: the segment rules' and campaign rules' consent lookups
            # (campaigns.conditions, campaigns.rules.reachable_on) read it without the table.
            models.Index(
                fields=["channel", "customer"],
                name="consent_granted_by_channel",
                condition=models.Q(granted=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {'granted' if self.granted else 'withdrawn'}"


class CustomerMerge(models.Model):
    """Audit of one merge: who folded which profile into which, and what it held."""

    winner = models.ForeignKey(
        Customer, verbose_name=_("winner"), on_delete=models.PROTECT, related_name="+"
    )
    loser = models.ForeignKey(
        Customer, verbose_name=_("loser"), on_delete=models.PROTECT, related_name="+"
    )
    loser_snapshot = models.JSONField(_("loser before the merge"))
    # {"app.Model.field": rows moved}; rows a unique constraint kept on the loser are in `left`.
    moved = models.JSONField(_("rows moved"), default=dict)
    left = models.JSONField(_("rows left on the loser"), default=dict)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.loser_id} -> #{self.winner_id}"


class PrivacyAction(models.TextChoices):
    EXPORT = "export", _("Export")
    ERASE = "erase", _("Erasure")


class PrivacyRequest(models.Model):
    """Audit of an export or an erasure of a customer's personal data."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=6, choices=PrivacyAction.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} #{self.customer_id}"


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class ErasedIdentity(models.Model):
    """A one-way hash (HMAC-SHA256) of an erased email or phone: the suppression list."""

    kind = models.CharField(_("kind"), max_length=5, choices=IdentityKind.choices)
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("erased identity")
        verbose_name_plural = _("erased identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "digest"], name="erased_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}…"


# Loyalty and customer service live in their own modules to keep this one readable; imported
# here so that Django (and `from customers.models import ...`) finds them.
from customers.models_access import AccessScreen, CustomerAccess  # noqa: E402, F401
from customers.models_devices import (  # noqa: E402
    Device,
    DeviceDisabledReason,
    DevicePlatform,
)
from customers.models_loyalty import (  # noqa: E402
    LoyaltyAccount,
    LoyaltyMovement,
    LoyaltyMovementKind,
    LoyaltyTier,
)
from customers.models_service import (  # noqa: E402
    Contact,
    ContactDirection,
    ContactOutcome,
    ContactReason,
    Conversation,
    ConversationStatus,
    ServiceChannel,
    SurveyAnswer,
)

__all__ = [
    "Channel",
    "ConsentAction",
    "ConsentEvent",
    "ConsentState",
    "Contact",
    "ContactChannel",
    "ContactDirection",
    "ContactOutcome",
    "ContactReason",
    "Conversation",
    "ConversationStatus",
    "Customer",
    "CustomerMerge",
    "CustomerQuerySet",
    "Device",
    "DeviceDisabledReason",
    "DevicePlatform",
    "DoNotContactReason",
    "ErasedIdentity",
    "Gender",
    "IdentityKind",
    "LoyaltyAccount",
    "LoyaltyMovement",
    "LoyaltyMovementKind",
    "LoyaltyTier",
    "OptInLevel",
    "PrivacyAction",
    "PrivacyRequest",
    "ServiceChannel",
    "SurveyAnswer",
]
