"""Automations: a trigger, ordered steps with delays and channels, and who is enrolled where.

An automation sends through a campaign row of its own (`Automation.campaign`, one variant per
step): its messages are ordinary `Message` rows, so the rules, the delivery pipeline with its
idempotency keys, tracking, attribution and results are the campaigns' own, not a copy.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaign import Campaign, CampaignVariant
from campaigns.models.segment import Segment
from customers.models import ContactChannel
from omni.models import TimeStampedModel


class TriggerKind(models.TextChoices):
    WELCOME = "welcome", _("Signed up or opted in (welcome series)")
    ABANDONED_CART = "abandoned_cart", _("Cart untouched, no order (abandoned cart)")
    SATISFACTION = "satisfaction", _("Order collected or delivered (satisfaction survey)")
    BACK_IN_STOCK = "back_in_stock", _("A product she wanted is back in stock")
    WIN_BACK = "win_back", _("No order for a while (win-back)")


class StepChannel(models.TextChoices):
    EMAIL = ContactChannel.EMAIL.value, ContactChannel.EMAIL.label
    SMS = ContactChannel.SMS.value, ContactChannel.SMS.label
    PUSH = ContactChannel.PUSH.value, ContactChannel.PUSH.label
    PREFERRED = "preferred", _("Her preferred consented channel")


class Automation(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100, unique=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=TriggerKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # Only events from this time on enrol: switching an automation on does not reach back.
    starts_at = models.DateTimeField(_("events from"), default=timezone.now)
    idle_hours = models.PositiveIntegerField(
        _("cart untouched for (hours)"), default=4, help_text=_("Abandoned cart only.")
    )
    idle_days = models.PositiveIntegerField(
        _("no order for (days)"), default=90, help_text=_("Win-back only.")
    )
    exit_on_order = models.BooleanField(
        _("leave on an order"),
        default=True,
        help_text=_("An order placed after the trigger stops the remaining steps."),
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("only customers in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="automations",
    )
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    campaign = models.OneToOneField(
        Campaign,
        verbose_name=_("sends as campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="automation",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("automation")
        verbose_name_plural = _("automations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gt=0, discount_percent__lte=100),
                name="automation_discount_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationStep(models.Model):
    """One message of the flow, `delay` after the previous step (the first: after the trigger).

    Content is written here per channel; `automation_sync` copies it to the step's campaign
    variant, which the delivery pipeline renders at send time.
    """

    automation = models.ForeignKey(
        Automation, verbose_name=_("automation"), on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    delay = models.DurationField(_("delay"), default=dt.timedelta)
    channel = models.CharField(_("channel"), max_length=9, choices=StepChannel.choices)
    email_subject = models.CharField(_("email subject"), max_length=200, blank=True)
    email_body = models.TextField(_("email body"), blank=True)
    sms_body = models.TextField(_("SMS text"), blank=True)
    push_title = models.CharField(_("push title"), max_length=200, blank=True)
    push_body = models.TextField(_("push text"), blank=True)
    variant = models.OneToOneField(
        CampaignVariant,
        verbose_name=_("campaign variant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="automation_step",
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["automation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "position"], name="automation_step_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} #{self.position}"

    def content(self, channel: str) -> tuple[str, str]:
        """(subject, body) written for `channel`."""
        return {
            ContactChannel.EMAIL: (self.email_subject, self.email_body),
            ContactChannel.SMS: ("", self.sms_body),
            ContactChannel.PUSH: (self.push_title, self.push_body),
        }[channel]

    @property
    def channel_list(self) -> list[str]:
        """The channels this step may use, in order of preference when none is hers."""
        if self.channel != StepChannel.PREFERRED:
            return [self.channel]
        return [c for c in ContactChannel.values if self.content(c)[1].strip()]


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("In the flow")
    COMPLETED = "completed", _("All steps done")
    CONVERTED = "converted", _("Left: ordered")
    LEFT = "left", _("Left: trigger no longer holds")


class Enrolment(models.Model):
    """A customer in a flow for one trigger (`trigger_key`: a cart and its last activity, an
    order, a variant's return, a lapse...): unique, so a trigger seen twice enrols once."""

    automation = models.ForeignKey(
        Automation,
        verbose_name=_("automation"),
        on_delete=models.PROTECT,
        related_name="enrolments",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="automation_enrolments",
    )
    trigger_key = models.CharField(_("trigger"), max_length=80)
    # When the triggering thing happened (opt-in, last cart activity, collection, ...): an
    # order placed after it is a conversion.
    event_at = models.DateTimeField(_("event at"))
    enrolled_at = models.DateTimeField(_("enrolled at"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EnrolmentStatus.choices,
        default=EnrolmentStatus.ACTIVE,
    )
    next_position = models.PositiveSmallIntegerField(_("next step"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("next step due at"), null=True, blank=True)
    exited_at = models.DateTimeField(_("left at"), null=True, blank=True)
    exit_reason = models.CharField(_("why left"), max_length=20, blank=True)
    cart = models.ForeignKey(
        "orders.Cart",
        verbose_name=_("cart"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # an erased cart: the flow leaves at the next tick
        related_name="+",
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    variant = models.ForeignKey(
        "inventory.Variant",
        verbose_name=_("variant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-enrolled_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "customer", "trigger_key"], name="enrolment_once_per_trigger"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                condition=Q(status="active"),
                name="enrolment_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.customer_id} {self.trigger_key}"
