"""Reads over segments and campaigns: who is in a segment, how many, a sample; progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Message, MessageStatus, Segment
from campaigns.segments import compile_rules
from customers.models import Customer

SAMPLE_SIZE = 20


def segment_customers(*, rules: object, now: dt.datetime | None = None) -> QuerySet[Customer]:
    """Live customers matching `rules` at `now`, as one query (not yet evaluated).

    Raises:
        SegmentRuleError: the rules do not compile.
    """
    return Customer.objects.live().filter(compile_rules(rules, now=now or timezone.now()))


def segment_members(*, segment: Segment, now: dt.datetime | None = None) -> QuerySet[Customer]:
    """Live customers in the segment at `now`."""
    return segment_customers(rules=segment.rules, now=now)


def segment_count(*, rules: object, now: dt.datetime | None = None) -> int:
    """How many live customers match `rules` now: the editor's live count."""
    return segment_customers(rules=rules, now=now).count()


def segment_sample(
    *, rules: object, size: int = SAMPLE_SIZE, now: dt.datetime | None = None
) -> list[Customer]:
    """A few matching customers (lowest ids first, so the sample is stable) for the editor."""
    return list(segment_customers(rules=rules, now=now).order_by("pk")[:size])


@dataclass(frozen=True)
class Progress:
    audience: int  # messages to deliver (holdout excluded)
    pending: int
    sending: int
    sent: int
    failed: int
    skipped: int
    held_out: int

    @property
    def finished(self) -> bool:
        return self.audience > 0 and self.sent + self.failed + self.skipped == self.audience


def campaign_progress(*, campaign: Campaign) -> Progress:
    """Counts per status of the campaign's current run, in one query: the campaign page."""
    counts = Message.objects.filter(campaign=campaign, run=campaign.current_run).aggregate(
        **{status.value: Count("pk", filter=Q(status=status.value)) for status in MessageStatus}
    )
    held_out = counts.pop(MessageStatus.HELD_OUT.value)
    return Progress(audience=sum(counts.values()), held_out=held_out, **counts)
