"""Automatic A/B winner: after the test share has had `winner_after` hours, the variant best on
the campaign's metric is recorded and the rest of the audience is sent that variant.

Picking is idempotent: a second beat scheduler, a redelivered task or a replay all reach one
conditional UPDATE (sending, no winner yet, due) and only the first one through it goes on to
materialise the remainder, in the same transaction, with the same idempotency keys and rules as
any launch. Ties (and a test nobody engaged with) go to the first variant by name ("A").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns import results
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    CampaignVariant,
)
from campaigns.models.campaign import WinnerMetric
from campaigns.services.delivery import campaign_finish_if_done, materialise_turn
from campaigns.services.materialise import materialise


@dataclass(frozen=True)
class WinnerResult:
    """The A/B test's winner, every variant's score, and the rest of the audience written for
    it (messages, customers held out)."""

    variant: CampaignVariant
    scores: dict[str, float]
    messages: int
    held_out: int


def metric_value(figures: results.Figures, *, metric: str) -> float:
    """A variant's score on `metric` (higher is better)."""
    if metric == WinnerMetric.REVENUE_PER_MESSAGE:
        return float(figures.revenue_per_message)
    rates: dict[str, float] = {
        WinnerMetric.OPEN_RATE: figures.open_rate,
        WinnerMetric.CLICK_RATE: figures.click_rate,
        WinnerMetric.CONVERSION_RATE: figures.conversion_rate,
    }
    return rates[metric]


def best_variant(variants: list[results.Figures], *, metric: str) -> results.Figures:
    """The highest score wins; on a tie the first of `variants` (ordered by name) wins."""
    best = variants[0]
    for figures in variants[1:]:
        if metric_value(figures, metric=metric) > metric_value(best, metric=metric):
            best = figures
    return best


def campaigns_awaiting_winner(*, now: dt.datetime) -> QuerySet[Campaign]:
    """Sending campaigns whose test delay is over and whose winner is not chosen yet."""
    return Campaign.objects.filter(
        status=CampaignStatus.SENDING, winner_chosen_at__isnull=True, winner_due_at__lte=now
    ).exclude(winner_metric="")


def campaign_choose_winner(
    *, campaign: Campaign, now: dt.datetime | None = None
) -> WinnerResult | None:
    """Record the test's winning variant and materialise the rest of the audience with it.

    Returns None, writing nothing, when the campaign is not due (not sending, delay not over,
    no automatic winner) or its winner is already chosen.
    """
    from campaigns.tasks import dispatch_campaign

    now = now or timezone.now()
    if not campaigns_awaiting_winner(now=now).filter(pk=campaign.pk).exists():
        return None
    campaign = Campaign.objects.get(pk=campaign.pk)
    figures = results.campaign_results(campaign=campaign).variants
    if not figures:
        return None
    metric = campaign.winner_metric
    best = best_variant(figures, metric=metric)
    scores = {row.label: metric_value(row, metric=metric) for row in figures}
    with transaction.atomic():
        # The guard: of two pickers, the second waits on the row lock, then matches nothing.
        claimed = (
            campaigns_awaiting_winner(now=now)
            .filter(pk=campaign.pk)
            .update(winner_variant_id=best.key, winner_chosen_at=now, updated_at=now)
        )
        if not claimed:
            return None
        campaign.refresh_from_db()
        materialise_turn()  # the same turn-taking as launches (the cap)
        assert best.key is not None  # a variant's figures carry its pk
        winner = CampaignVariant.objects.get(pk=best.key)
        messages, held_out = materialise(
            campaign=campaign, run=campaign.current_run, now=now, winner=winner
        )
        CampaignEvent.objects.create(
            campaign=campaign,
            action=CampaignAction.WINNER,
            detail={
                "variant": winner.name,
                "metric": metric,
                "scores": scores,
                "messages": messages,
                "held_out": held_out,
            },
        )
        # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
        dispatch_campaign.delay_on_commit(campaign_id=campaign.pk)  # type: ignore[attr-defined]
    campaign_finish_if_done(campaign_id=campaign.pk)  # an empty remainder ends the campaign
    return WinnerResult(variant=winner, scores=scores, messages=messages, held_out=held_out)
