"""What happened after a message left: tracking events, and the orders attributed to messages.

`TrackingEvent` is append-only (one row per pixel hit, click, provider report, unsubscribe), with
the customer, campaign and channel copied from the message so that engagement rules, attribution
and results read one indexed table without joining messages. `Attribution` rows are written by
campaigns/services/attribution.py in one INSERT ... SELECT per pass; orders never point back here.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models.campaign import Campaign, CampaignVariant
from campaigns.models.message import Message
from customers.models import ContactChannel


class TrackingKind(models.TextChoices):
    OPEN = "open", _("Opened")
    CLICK = "click", _("Clicked")
    DELIVERED = "delivered", pgettext_lazy("tracking event", "Delivered")
    SOFT_BOUNCE = "soft_bounce", _("Soft bounce")
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


# Touches that can win an order (the attribution window is set per channel and touch kind).
TOUCH_KINDS = (TrackingKind.OPEN, TrackingKind.CLICK)


class TrackingEvent(models.Model):
    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="events"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ContactChannel.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=TrackingKind.choices)
    at = models.DateTimeField(_("at"))
    url = models.URLField(_("link"), max_length=2000, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["at", "pk"]
        indexes = [
            # Engagement rules and attribution: a customer's recent opens and clicks.
            models.Index(fields=["customer", "kind", "at"], name="tracking_customer_kind_at"),
            models.Index(fields=["message", "kind"], name="tracking_message_kind"),
            models.Index(fields=["campaign", "kind"], name="tracking_campaign_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.kind}"


class TouchKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("attribution touch", "Open")
    CLICK = "click", _("Click")
    CODE = "code", _("Discount code")  # she paid with the message's code: always the last touch


class Attribution(models.Model):
    """An order credited to a message it followed within the window: `weight` is the linear
    multi-touch share (the order's rows sum to 1), and exactly one row is the last touch."""

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attributions"
    )
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="attributions"
    )
    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=pgettext_lazy("A/B test", "variant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ContactChannel.choices)
    touch = models.CharField(_("touch"), max_length=5, choices=TouchKind.choices)
    touched_at = models.DateTimeField(_("touched at"))
    order_placed_at = models.DateTimeField(_("order placed at"))
    weight = models.DecimalField(_("multi-touch share"), max_digits=7, decimal_places=6)
    # The order total times the weight, rounded so that an order's rows add up to its total.
    revenue_share = models.DecimalField(_("revenue share"), max_digits=12, decimal_places=2)
    order_total = models.DecimalField(_("order total"), max_digits=12, decimal_places=2)
    is_last_touch = models.BooleanField(_("last touch"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("attribution")
        verbose_name_plural = _("attributions")
        ordering = ["-order_placed_at", "order", "-is_last_touch", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "message"], name="attribution_unique"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(is_last_touch=True), name="attribution_one_last"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0, weight__lte=1), name="attribution_weight_range"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "is_last_touch"], name="attribution_campaign_last"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} <- {self.message_id} ({self.weight})"


class AttributionWatermark(models.Model):
    """One row: the highest order id the attribution sweep has looked at."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    last_order_id = models.BigIntegerField(_("last order id"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("attribution watermark")
        verbose_name_plural = _("attribution watermarks")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_order_id}"
