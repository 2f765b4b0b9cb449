"""A launch's audience, computed once: the rows of a temporary table, not a stored model."""

from __future__ import annotations

from django.db import models


class AudienceMember(models.Model):
    """One customer of the audience a launch is materialising (campaigns.services.materialise):
    what the per-channel rules read of her, computed once (consent with an address per channel).

    The table is TEMPORARY, created and filled by each launch inside its transaction and dropped
    at commit (`managed = False`: no migration creates it). Its primary key is the customer's id,
    so the rules written over customers (`OuterRef("pk")`, `F("pk")`) read it unchanged.
    """

    customer = models.OneToOneField(
        "customers.Customer",
        primary_key=True,
        db_column="id",
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )
    country = models.CharField(max_length=2)
    preferred_channel = models.CharField(max_length=5, blank=True)
    # Consent granted and an address, per channel (campaigns.rules.reachable_on).
    reach_email = models.BooleanField()
    reach_sms = models.BooleanField()
    reach_push = models.BooleanField()

    class Meta:
        managed = False
        db_table = "materialise_audience"

    def __str__(self) -> str:
        return f"audience member {self.pk}"
