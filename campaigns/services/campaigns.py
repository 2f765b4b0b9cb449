"""Campaigns: create one (validated: channels, content, templates, schedule), schedule, cancel."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from campaigns.exceptions import CampaignNotEditable
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    CampaignVariant,
    ChannelMode,
    ScheduleKind,
    Segment,
    VariantContent,
)
from campaigns.models.campaign import WinnerMetric
from campaigns.templating import TemplateRefused, check_template
from customers.models import ContactChannel
from inventory.models import Product

LAUNCH_TASK = "campaigns.launch_campaign"
MAX_WINNER_AFTER_HOURS = 24 * 30


@dataclass(frozen=True)
class ChannelContent:
    """A variant's text on one channel; `subject` is an e-mail's subject or a push's title."""

    channel: str
    body: str
    subject: str = ""


@dataclass(frozen=True)
class VariantSpec:
    """One version of a campaign's content (A, B...), sent to `split_percent` of the audience."""

    name: str
    split_percent: int
    contents: tuple[ChannelContent, ...]


@dataclass(frozen=True)
class Schedule:
    """When a campaign goes out: now, once at `send_at`, or on a crontab `recurrence`."""

    kind: str = ScheduleKind.NOW
    send_at: dt.datetime | None = None
    recurrence: str = ""  # crontab: "minute hour day-of-month month day-of-week"


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign to create or update: audience, channels, content variants and rules."""

    name: str
    segment: Segment
    channels: tuple[str, ...]
    variants: tuple[VariantSpec, ...]
    channel_mode: str = ChannelMode.PREFERRED
    promoted_product: Product | None = None
    suppress_buyers_days: int = 30
    discount_percent: Decimal | None = None
    holdout_percent: int = 0
    schedule: Schedule = field(default_factory=Schedule)
    # Automatic A/B winner (all three or none): the variants share `test_percent` of the
    # audience; `winner_after` hours later the rest receives the best variant on the metric.
    winner_metric: str = ""
    winner_after: int | None = None  # hours
    test_percent: int = 100


def _schedule_errors(schedule: Schedule, now: dt.datetime) -> dict[str, str]:
    if schedule.kind == ScheduleKind.AT:
        if schedule.send_at is None:
            return {"send_at": _("Give the time to send at.")}
        if schedule.send_at <= now:
            return {"send_at": _("The time to send at is in the past.")}
    if schedule.kind == ScheduleKind.RECURRING and len(schedule.recurrence.split()) != 5:
        return {"recurrence": _("Give a crontab: minute hour day-of-month month day-of-week.")}
    return {}


def _winner_errors(spec: CampaignSpec) -> dict[str, str]:
    if not spec.winner_metric:
        errors = {}
        if spec.winner_after is not None:
            errors["winner_metric"] = _("Choose the metric that decides the winner.")
        if spec.test_percent != 100:
            errors["test_percent"] = _("A test share needs an automatic winner.")
        return errors
    errors = {}
    if spec.winner_metric not in WinnerMetric.values:
        errors["winner_metric"] = _("Unknown winner metric: %(metric)s.") % {
            "metric": spec.winner_metric
        }
    if spec.winner_after is None:
        errors["winner_after"] = _("Give the delay, in hours, after which the winner is chosen.")
    elif not 1 <= spec.winner_after <= MAX_WINNER_AFTER_HOURS:
        errors["winner_after"] = _("The delay is between 1 and %(hours)s hours.") % {
            "hours": MAX_WINNER_AFTER_HOURS
        }
    if not 1 <= spec.test_percent <= 99:
        errors["test_percent"] = _("The test share is between 1% and 99% of the audience.")
    if len(spec.variants) < 2:
        errors["variants"] = _("An automatic winner needs at least two variants.")
    if spec.schedule.kind == ScheduleKind.RECURRING:
        errors["winner_metric"] = _("An automatic winner is for a one-off campaign.")
    return errors


def _content_errors(spec: CampaignSpec) -> dict[str, str]:
    errors: dict[str, str] = {}
    if sum(variant.split_percent for variant in spec.variants) != 100:
        errors["variants"] = _("The variants' shares must add up to 100%.")
    for index, variant in enumerate(spec.variants):
        by_channel = {content.channel: content for content in variant.contents}
        for channel in spec.channels:
            key = f"variants[{index}].{channel}"
            content = by_channel.get(channel)
            if content is None or not content.body.strip():
                errors[key] = _("Variant %(name)s has no text for %(channel)s.") % {
                    "name": variant.name,
                    "channel": channel,
                }
                continue
            for part in ("subject", "body"):
                try:
                    check_template(getattr(content, part))
                except TemplateRefused as exc:
                    errors[f"{key}.{part}"] = exc.messages[0]
    return errors


def campaign_validate(*, spec: CampaignSpec, now: dt.datetime) -> None:
    """Raise ValidationError (per field) if the campaign cannot be stored as given."""
    errors: dict[str, str] = {}
    if not spec.channels:
        errors["channels"] = _("Choose at least one channel.")
    unknown = [channel for channel in spec.channels if channel not in ContactChannel.values]
    if unknown or len(set(spec.channels)) != len(spec.channels):
        errors["channels"] = _("Unknown or repeated channel: %(channels)s.") % {
            "channels": ", ".join(map(str, unknown or spec.channels))
        }
    if not spec.variants:
        errors["variants"] = _("Add at least one variant.")
    if not 0 <= spec.holdout_percent <= 50:
        errors["holdout_percent"] = _("The holdout is between 0% and 50%.")
    if spec.discount_percent is not None and not 0 < spec.discount_percent <= 100:
        errors["discount_percent"] = _("The discount is between 0% and 100%.")
    errors.update(_schedule_errors(spec.schedule, now))
    if "channels" not in errors and spec.variants:
        errors.update(_content_errors(spec))
    errors.update(_winner_errors(spec))
    if errors:
        raise ValidationError(errors)


def _record(campaign: Campaign, action: str, performed_by: User | None, **detail: object) -> None:
    CampaignEvent.objects.create(
        campaign=campaign, action=action, performed_by=performed_by, detail=detail
    )


def campaign_create(
    *,
    spec: CampaignSpec,
    created_by: User | None = None,
    now: dt.datetime | None = None,
) -> Campaign:
    """Store a campaign with its variants and content, scheduled unless it is to go now.

    Raises:
        ValidationError: no channel, missing or unsafe content, a schedule in the past...
    """
    now = now or timezone.now()
    campaign_validate(spec=spec, now=now)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=spec.name,
            segment=spec.segment,
            channels=list(spec.channels),
            channel_mode=spec.channel_mode,
            promoted_product=spec.promoted_product,
            suppress_buyers_days=spec.suppress_buyers_days,
            discount_percent=spec.discount_percent,
            holdout_percent=spec.holdout_percent,
            winner_metric=spec.winner_metric,
            winner_after=spec.winner_after,
            test_percent=spec.test_percent,
            created_by=created_by,
        )
        for variant_spec in spec.variants:
            variant = CampaignVariant.objects.create(
                campaign=campaign, name=variant_spec.name, split_percent=variant_spec.split_percent
            )
            VariantContent.objects.bulk_create(
                VariantContent(variant=variant, channel=c.channel, subject=c.subject, body=c.body)
                for c in variant_spec.contents
                if c.channel in spec.channels
            )
        _record(campaign, CampaignAction.CREATED, created_by)
        if spec.schedule.kind != ScheduleKind.NOW:
            campaign = campaign_schedule(
                campaign=campaign, schedule=spec.schedule, performed_by=created_by, now=now
            )
    return campaign


# django-celery-beat's signals bump its one change-tracking row (`PeriodicTasks`, ident=1) as a
# schedule row is saved, inside the saver's transaction: held until our commit, that lock joined
# the locks a starting or syncing scheduler takes in another order, and PostgreSQL broke the
# deadlock by failing the marketer's request. So the schedule rows are written without the signals
# (`bulk_create`, `no_changes`) and the row is bumped once, after the commit, in its own short
# transaction: the schedulers reload on their next tick, as they would have.


def _crontab(recurrence: str) -> CrontabSchedule:
    minute, hour, day_of_month, month_of_year, day_of_week = recurrence.split()
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": settings.TIME_ZONE,
    }
    crontab = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    if crontab is None:
        (crontab,) = CrontabSchedule.objects.bulk_create([CrontabSchedule(**fields)])
    return crontab


def _beat_changed() -> None:
    """Tell the beat schedulers, once the caller's transaction commits, to reload. Robust: the
    schedule is committed by then, and a failed bump is logged, not turned into an error for a
    request that succeeded (the schedulers then see the change with the next one)."""
    transaction.on_commit(PeriodicTasks.update_changed, robust=True)


def campaign_schedule(
    *,
    campaign: Campaign,
    schedule: Schedule,
    performed_by: User | None = None,
    now: dt.datetime | None = None,
) -> Campaign:
    """Schedule a campaign once or recurring through django-celery-beat (visible in the admin).

    Raises:
        CampaignNotEditable: the campaign is sending, sent or cancelled.
        ValidationError: the time is in the past, or the crontab is malformed.
    """
    errors = _schedule_errors(schedule, now or timezone.now())
    if schedule.kind == ScheduleKind.NOW:
        errors["schedule_kind"] = _("Launch a campaign to send it now.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise CampaignNotEditable()
        task = campaign.periodic_task or PeriodicTask(name=f"campaign-{campaign.pk}")
        task.task = LAUNCH_TASK
        task.kwargs = json.dumps({"campaign_id": campaign.pk})
        task.enabled = True
        task.clocked, task.crontab, task.one_off = None, None, False
        if schedule.kind == ScheduleKind.AT:
            assert schedule.send_at is not None  # _schedule_errors requires it
            (task.clocked,) = ClockedSchedule.objects.bulk_create(
                [ClockedSchedule(clocked_time=schedule.send_at)]
            )
            task.one_off = True
        else:
            task.crontab = _crontab(schedule.recurrence)
        task.no_changes = True  # bumped after the commit: see _beat_changed
        task.save()
        _beat_changed()
        campaign.periodic_task = task
        campaign.schedule_kind = schedule.kind
        campaign.send_at = schedule.send_at
        campaign.recurrence = schedule.recurrence
        campaign.status = CampaignStatus.SCHEDULED
        campaign.save(
            update_fields=[
                "periodic_task",
                "schedule_kind",
                "send_at",
                "recurrence",
                "status",
                "updated_at",
            ]
        )
        _record(campaign, CampaignAction.SCHEDULED, performed_by, kind=schedule.kind)
    return campaign


def campaign_cancel(*, campaign: Campaign, performed_by: User | None = None) -> Campaign:
    """Stop a campaign: its schedule is disabled and its unsent messages are skipped.

    Raises:
        CampaignNotEditable: the campaign is already sent or cancelled.
    """
    from campaigns.models import Message, MessageStatus

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
            raise CampaignNotEditable()
        if campaign.periodic_task_id:
            PeriodicTask.objects.filter(pk=campaign.periodic_task_id).update(enabled=False)
            _beat_changed()  # an update() sends no signal: without this, beat kept the task
        skipped = Message.objects.filter(campaign=campaign, status=MessageStatus.PENDING).update(
            status=MessageStatus.SKIPPED, skip_reason="cancelled"
        )
        campaign.status = CampaignStatus.CANCELLED
        campaign.save(update_fields=["status", "updated_at"])
        _record(campaign, CampaignAction.CANCELLED, performed_by, skipped=skipped)
    return campaign
