"""Customer profiles: one per person, whatever the channel she came through."""

from __future__ import annotations

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

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_unique_ci"),
            models.UniqueConstraint(fields=["phone"], name="customer_phone_unique"),
            models.UniqueConstraint(fields=["card_number"], name="customer_card_unique"),
            models.CheckConstraint(condition=~Q(email=""), name="customer_email_null_not_blank"),
            models.CheckConstraint(condition=~Q(phone=""), name="customer_phone_null_not_blank"),
            models.CheckConstraint(
                condition=~Q(card_number=""), name="customer_card_null_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
