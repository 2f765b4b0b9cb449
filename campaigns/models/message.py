"""One message to one customer on one channel, and the discount codes that go with them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models.campaign import Campaign, CampaignVariant
from customers.models import ContactChannel


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("To send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped at send time")
    HELD_OUT = "held_out", _("Holdout (receives nothing)")


# Statuses that count against the frequency cap: sent, or on their way.
CAPPED_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.SENT)
DONE_STATUSES = (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SKIPPED)


class Message(models.Model):
    """Written by materialisation (INSERT ... SELECT), claimed and sent by the dispatch tasks.

    `idempotency_key` (campaign, run, variant, customer, channel) is unique: a replay inserts
    nothing, and providers receive it so they can drop a duplicate too.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="messages"
    )
    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=pgettext_lazy("A/B test", "variant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    run = models.CharField(_("run"), max_length=40)
    channel = models.CharField(
        _("channel"), max_length=5, choices=ContactChannel.choices, blank=True
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    skip_reason = models.CharField(_("why skipped"), max_length=40, blank=True)
    # Quiet hours: not sent before this time (the customer's evening, Sunday...).
    not_before = models.DateTimeField(_("not before"))
    claim_token = models.UUIDField(_("claim"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["campaign", "status"], name="message_campaign_status"),
            # The frequency cap and engagement rules read a customer's recent messages.
            models.Index(fields=["customer", "created_at"], name="message_customer_created"),
            models.Index(
                fields=["campaign", "not_before"],
                condition=Q(status__in=["pending", "sending"]),
                name="message_to_send",
            ),
            # The frequency cap, set-based (campaigns.rules.under_cap): the messages sent in its
            # window, found without reading the whole history (those on their way: above).
            models.Index(
                Coalesce("sent_at", "created_at"),
                "customer",
                condition=Q(status="sent"),
                name="message_sent_capped",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class DiscountCode(models.Model):
    """A single-use code for one customer, valid online and at the till until `valid_until`."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="codes"
    )
    message = models.OneToOneField(
        Message,
        verbose_name=_("message"),
        on_delete=models.PROTECT,
        related_name="discount_code",
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2)
    valid_until = models.DateTimeField(_("valid until"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    redeemed_order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("discount code")
        verbose_name_plural = _("discount codes")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.code
