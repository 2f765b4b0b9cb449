"""A segment: rules over customers, stored as validated JSON (see campaigns/segments.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from omni.models import TimeStampedModel


class Segment(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(
        _("rules"),
        help_text=_('A group {"all": [...]}, {"any": [...]} or {"not": ...} of conditions.'),
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
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Validation only (no business rule): the admin form and services refuse a bad rule.
        from campaigns.segments import SegmentRuleError, validate_rules

        try:
            validate_rules(self.rules)
        except SegmentRuleError as exc:
            raise ValidationError({"rules": exc.messages}) from None
