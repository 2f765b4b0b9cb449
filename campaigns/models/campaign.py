"""A campaign: who (a segment), on which channels, what (content per variant and channel), when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models.segment import Segment
from customers.models import ContactChannel
from omni.models import TimeStampedModel


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", pgettext_lazy("campaign status", "Sent")
    CANCELLED = "cancelled", _("Cancelled")


class ChannelMode(models.TextChoices):
    PREFERRED = "preferred", _("Her preferred consented channel")
    ALL = "all", _("Every consented channel")


class ScheduleKind(models.TextChoices):
    NOW = "now", _("Now")
    AT = "at", _("At a given time")
    RECURRING = "recurring", _("Recurring")


class WinnerMetric(models.TextChoices):
    """What decides an A/B test: each variant's figure in campaigns/results.py, highest wins."""

    OPEN_RATE = "open_rate", _("Open rate")
    CLICK_RATE = "click_rate", _("Click rate")
    CONVERSION_RATE = "conversion_rate", _("Conversion rate")
    REVENUE_PER_MESSAGE = "revenue_per_message", _("Revenue per message")


class Campaign(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # Ordered: in "preferred" mode, the first consented one when her preference is not offered.
    channels = models.JSONField(_("channels"), default=list)
    channel_mode = models.CharField(
        _("channel choice"),
        max_length=10,
        choices=ChannelMode.choices,
        default=ChannelMode.PREFERRED,
    )
    promoted_product = models.ForeignKey(
        "inventory.Product",
        verbose_name=_("promoted product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    suppress_buyers_days = models.PositiveIntegerField(
        _("leave out buyers of the promoted product from the last N days"), default=30
    )
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    discount_valid_days = models.PositiveIntegerField(_("discount valid for (days)"), default=30)
    holdout_percent = models.PositiveSmallIntegerField(_("holdout (%)"), default=0)
    schedule_kind = models.CharField(
        _("when"), max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.NOW
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    # Crontab "minute hour day-of-month month day-of-week", in the project's time zone.
    recurrence = models.CharField(_("recurrence (crontab)"), max_length=100, blank=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        verbose_name=_("schedule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    launched_at = models.DateTimeField(_("last launched at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    current_run = models.CharField(_("current run"), max_length=40, blank=True)
    # Automatic A/B winner: the test share is split across the variants at launch; the rest of
    # the audience waits `winner_after` hours, then receives the variant best on `winner_metric`.
    winner_metric = models.CharField(
        _("automatic winner by"), max_length=20, choices=WinnerMetric.choices, blank=True
    )
    winner_after = models.PositiveIntegerField(
        _("choose the winner after (hours)"), null=True, blank=True
    )
    test_percent = models.PositiveSmallIntegerField(_("test share (%)"), default=100)
    winner_due_at = models.DateTimeField(_("winner due at"), null=True, blank=True)
    winner_variant = models.ForeignKey(
        "CampaignVariant",
        verbose_name=_("winning variant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    winner_chosen_at = models.DateTimeField(_("winner chosen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_percent__lte=50), name="campaign_holdout_at_most_half"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gt=0, discount_percent__lte=100),
                name="campaign_discount_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(test_percent__gte=1, test_percent__lte=100),
                name="campaign_test_percent_range",
            ),
            # A metric and a delay go together; a test share below 100% only with a winner.
            models.CheckConstraint(
                condition=Q(winner_metric="", winner_after__isnull=True, test_percent=100)
                | (~Q(winner_metric="") & Q(winner_after__gte=1, test_percent__lt=100)),
                name="campaign_winner_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_list(self) -> list[str]:
        return [channel for channel in self.channels if channel in ContactChannel.values]

    @property
    def awaits_winner(self) -> bool:
        """An A/B test whose winner (and the rest of the audience) is still to come."""
        return bool(self.winner_metric) and self.winner_chosen_at is None


class CampaignVariant(models.Model):
    """One version of the content (A, B...): customers are split between them by `split_percent`."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="variants"
    )
    name = models.CharField(_("name"), max_length=20, default="A")
    split_percent = models.PositiveSmallIntegerField(_("share (%)"), default=100)

    class Meta:
        verbose_name = pgettext_lazy("A/B test", "variant")
        verbose_name_plural = pgettext_lazy("A/B test", "variants")
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="campaign_variant_unique"),
            models.CheckConstraint(
                condition=Q(split_percent__gte=0, split_percent__lte=100),
                name="campaign_variant_split_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.name}"


class VariantContent(models.Model):
    """A variant's text on one channel: sandboxed templates (see campaigns/templating.py)."""

    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=pgettext_lazy("A/B test", "variant"),
        on_delete=models.CASCADE,
        related_name="contents",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=ContactChannel.choices)
    subject = models.CharField(_("subject / title"), max_length=200, blank=True)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("content")
        verbose_name_plural = _("contents")
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="variant_content_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant} {self.channel}"


class CampaignAction(models.TextChoices):
    CREATED = "created", pgettext_lazy("campaign action", "Created")
    SCHEDULED = "scheduled", _("Scheduled")
    LAUNCHED = "launched", _("Launched")
    FINISHED = "finished", _("Finished")
    WINNER = "winner", _("Winner chosen")
    CANCELLED = "cancelled", _("Cancelled")


class CampaignEvent(models.Model):
    """Audit of a campaign's life: who created, scheduled, launched or cancelled it, when."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=CampaignAction.choices)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.action}"
