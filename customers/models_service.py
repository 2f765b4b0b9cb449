"""Customer service: contacts grouped in conversations, and satisfaction survey answers.

Orders are referred to by their number, not a foreign key: orders depend on customers, never
the other way round (docs/architecture.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Channel


class ServiceChannel(models.TextChoices):
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    STORE = "store", _("Store visit")


class ContactDirection(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")


class ContactReason(models.TextChoices):
    ORDER_STATUS = "order_status", _("Order status")
    DELIVERY = "delivery", _("Delivery problem")
    RETURN = "return", _("Return or refund")
    PRODUCT = "product", _("Product question")
    COMPLAINT = "complaint", _("Complaint")
    ACCOUNT = "account", _("Account or privacy")
    OTHER = "other", _("Other")


class ContactOutcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    FOLLOW_UP = "follow_up", _("Follow-up needed")
    ESCALATED = "escalated", _("Escalated")
    NO_ANSWER = "no_answer", _("No answer")


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    """One matter a customer raised, whatever channels its contacts went through."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="conversations",
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=12, choices=ContactReason.choices)
    status = models.CharField(
        _("status"),
        max_length=6,
        choices=ConversationStatus.choices,
        default=ConversationStatus.OPEN,
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-opened_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-opened_at"], name="conversation_history"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ConversationStatus.OPEN, closed_at__isnull=True)
                | Q(status=ConversationStatus.CLOSED, closed_at__isnull=False),
                name="conversation_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} ({self.get_status_display()})"


class Contact(models.Model):
    """One exchange with a customer: a chat, a call, an email or a visit to a store."""

    conversation = models.ForeignKey(
        Conversation,
        verbose_name=_("conversation"),
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    # The conversation's customer, kept on the row for her timeline and the generic merge.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ServiceChannel.choices)
    direction = models.CharField(
        _("direction"),
        max_length=8,
        choices=ContactDirection.choices,
        default=ContactDirection.INBOUND,
    )
    reason = models.CharField(_("reason"), max_length=12, choices=ContactReason.choices)
    outcome = models.CharField(_("outcome"), max_length=9, choices=ContactOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="contact_history"),
            models.Index(fields=["at"], name="contact_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_reason_display()} #{self.customer_id}"


class SurveyAnswer(models.Model):
    """A customer's satisfaction score for one order, given through a signed link."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="survey_answers",
    )
    order_number = models.CharField(_("order number"), max_length=20)
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    score = models.PositiveSmallIntegerField(_("score (1 to 5)"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-answered_at", "-pk"]
        indexes = [models.Index(fields=["answered_at"], name="survey_answer_at")]
        constraints = [
            # One answer per order: what makes a survey link single-use.
            models.UniqueConstraint(fields=["order_number"], name="survey_answer_once"),
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="survey_answer_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number}: {self.score}/5"
