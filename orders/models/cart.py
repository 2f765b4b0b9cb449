"""The unified cart (one per customer, shared by web, app and store) and its channel trail.

Rows here are written only by `orders.services.cart`; every change appends a `CartEvent` in the
same transaction, so the 360° view can tell "added on the app, seen in store".
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Channel
from omni.models import TimeStampedModel


def new_cart_token() -> str:
    """An unguessable token: the only credential of an anonymous cart."""
    return secrets.token_urlsafe(32)


class CartStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("cart status", "Active")
    CHECKING_OUT = "checking_out", _("Checkout started")
    CONVERTED = "converted", _("Ordered")
    MERGED = "merged", _("Merged into another cart")
    ABANDONED = "abandoned", _("Abandoned")


# The statuses in which a cart is the customer's one cart (see the partial unique constraint).
OPEN_STATUSES = (CartStatus.ACTIVE, CartStatus.CHECKING_OUT)


class Cart(TimeStampedModel):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        # A cart is personal data: erasing the customer erases her carts.
        on_delete=models.CASCADE,
        related_name="carts",
    )
    # Unique by a constraint in Meta: `unique=True` would add a `_like` index no query uses.
    token = models.CharField(_("token"), max_length=64, default=new_cart_token, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=CartStatus.choices, default=CartStatus.ACTIVE
    )
    channel = models.CharField(_("created on"), max_length=5, choices=Channel.choices)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
    )
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        ordering = ["-last_activity_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status__in=[status.value for status in OPEN_STATUSES]),
                name="cart_one_open_per_customer",
            ),
            models.UniqueConstraint(fields=["token"], name="cart_unique_token"),
        ]
        indexes = [
            # The abandoned-cart automation scans active carts by inactivity.
            models.Index(fields=["status", "last_activity_at"], name="cart_status_activity"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_status_display()})"

    @property
    def is_anonymous(self) -> bool:
        return self.customer_id is None


class CartLine(models.Model):
    cart = models.ForeignKey(
        Cart, verbose_name=_("cart"), on_delete=models.CASCADE, related_name="lines"
    )
    variant = models.ForeignKey(
        "inventory.Variant", verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_seen = models.DecimalField(_("unit price seen"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    added_channel = models.CharField(_("added on"), max_length=5, choices=Channel.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class CartAction(models.TextChoices):
    ADD = "add", _("Added")
    CHANGE = "change", _("Quantity changed")
    REMOVE = "remove", _("Removed")
    MERGE = "merge", _("Merged")
    OPEN = "open", _("Opened by staff")
    SEND_LINK = "send_link", _("Link sent")


class CartEvent(models.Model):
    """One step of the cart's channel trail: what changed, on which channel, by whom."""

    cart = models.ForeignKey(
        Cart, verbose_name=_("cart"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=CartAction.choices)
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    by_customer = models.BooleanField(
        _("by the customer"),
        default=False,
        help_text=_("The shopper acted herself, rather than staff or the back office."),
    )
    variant = models.ForeignKey(
        "inventory.Variant",
        verbose_name=_("variant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity_before = models.PositiveIntegerField(_("quantity before"), null=True, blank=True)
    quantity_after = models.PositiveIntegerField(_("quantity after"), null=True, blank=True)
    # On a merge: the channel the merged line was first added on, so the trail keeps it.
    origin_channel = models.CharField(
        _("originally added on"), max_length=5, choices=Channel.choices, blank=True
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("cart event")
        verbose_name_plural = _("cart events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["cart", "at"], name="cart_event_cart_at")]

    def __str__(self) -> str:
        return f"{self.action} on {self.channel} ({self.cart_id})"
