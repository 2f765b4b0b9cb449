"""Automations: create and sync them, enrol customers, send due steps, let them leave.

A due step becomes `Message` rows of the automation's own campaign through the campaigns'
materialisation insert and `campaigns.rules` (consent, cap, quiet hours, suppression), then the
campaigns' delivery tasks send them: the idempotency key ("a<automation>-e<enrolment>-s<step>-
<channel>") is unique, so a step replayed by a second scheduler inserts and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    CharField,
    DateTimeField,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Concat, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import rules
from campaigns.automations import triggers
from campaigns.models import (
    Automation,
    AutomationStep,
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    CampaignVariant,
    ChannelMode,
    Enrolment,
    EnrolmentStatus,
    Message,
    MessageStatus,
    Segment,
    StepChannel,
    TriggerKind,
    VariantContent,
)
from campaigns.selectors import segment_members
from campaigns.services.delivery import materialise_turn
from campaigns.services.materialise import _common, _insert
from campaigns.templating import TemplateRefused, check_template
from customers.models import ContactChannel, Customer
from customers.selectors import marketing_reachable
from orders.models import OPEN_STATUSES, CartLine, Order, OrderStatus

RUN = "automation"  # every automation message is in this run of its campaign
EVERYONE = {"field": "orders_count", "op": "gte", "value": 0}
EVERYONE_SEGMENT = "automations: everyone"


@dataclass(frozen=True)
class StepSpec:
    """One step of an automation: its channel (or her preferred one), how long after the
    previous step (or the enrolment) it goes, and its texts per channel."""

    channel: str
    delay: dt.timedelta = dt.timedelta()
    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""
    push_title: str = ""
    push_body: str = ""


@dataclass(frozen=True)
class AutomationSpec:
    """An automation to create: its trigger and steps; the idle hours and days tune the
    abandoned-cart and win-back triggers, and only events from `starts_at` on enrol."""

    name: str
    trigger: str
    steps: tuple[StepSpec, ...]
    idle_hours: int = 4
    idle_days: int = 90
    exit_on_order: bool = True
    segment: Segment | None = None
    discount_percent: Decimal | None = None
    starts_at: dt.datetime | None = None


def step_errors(step: AutomationStep | StepSpec, index: int) -> dict[str, str]:
    """What is wrong with one step's channel and content, per field (empty when valid)."""
    errors: dict[str, str] = {}
    probe = step if isinstance(step, AutomationStep) else AutomationStep(**vars(step))
    if probe.channel not in StepChannel.values:
        return {f"steps[{index}].channel": _("Unknown channel: %(c)s.") % {"c": probe.channel}}
    if not probe.channel_list or not probe.content(probe.channel_list[0])[1].strip():
        errors[f"steps[{index}].channel"] = _("Step %(n)s has no text for its channel.") % {
            "n": index + 1
        }
    for name in ("email_subject", "email_body", "sms_body", "push_title", "push_body"):
        try:
            check_template(getattr(probe, name))
        except TemplateRefused as exc:
            errors[f"steps[{index}].{name}"] = exc.messages[0]
    return errors


def automation_validate(*, spec: AutomationSpec) -> None:
    """Raise ValidationError (per field) if the automation cannot be stored as given."""
    errors: dict[str, str] = {}
    if spec.trigger not in TriggerKind.values:
        errors["trigger"] = _("Unknown trigger: %(t)s.") % {"t": spec.trigger}
    if not spec.steps:
        errors["steps"] = _("Add at least one step.")
    if spec.discount_percent is not None and not 0 < spec.discount_percent <= 100:
        errors["discount_percent"] = _("The discount is between 0% and 100%.")
    for index, step in enumerate(spec.steps):
        errors.update(step_errors(step, index))
    if errors:
        raise ValidationError(errors)


def automation_create(*, spec: AutomationSpec, created_by: User | None = None) -> Automation:
    """Store an automation with its steps, and the campaign its messages are sent as.

    Raises:
        ValidationError: unknown trigger, no step, a step without text, an unsafe template.
    """
    automation_validate(spec=spec)
    with transaction.atomic():
        automation = Automation.objects.create(
            name=spec.name,
            trigger=spec.trigger,
            idle_hours=spec.idle_hours,
            idle_days=spec.idle_days,
            exit_on_order=spec.exit_on_order,
            segment=spec.segment,
            discount_percent=spec.discount_percent,
            starts_at=spec.starts_at or timezone.now(),
            created_by=created_by,
        )
        AutomationStep.objects.bulk_create(
            AutomationStep(automation=automation, position=index, **vars(step))
            for index, step in enumerate(spec.steps, start=1)
        )
        automation_sync(automation=automation, performed_by=created_by)
    return automation


def _campaign_for(automation: Automation, performed_by: User | None) -> Campaign:
    if automation.campaign_id is not None:
        return Campaign.objects.select_for_update().get(pk=automation.campaign_id)
    segment = automation.segment
    if segment is None:
        segment, _created = Segment.objects.get_or_create(
            name=EVERYONE_SEGMENT, defaults={"rules": EVERYONE}
        )
    # Created "sent": no campaign operation (launch, schedule, cancel) applies to it; the
    # automation's own `is_active` governs it, and its messages keep flowing under it.
    campaign = Campaign.objects.create(
        name=_("%(name)s (automation)") % {"name": automation.name},
        segment=segment,
        status=CampaignStatus.SENT,
        current_run=RUN,
        launched_at=timezone.now(),
        created_by=performed_by,
    )
    CampaignEvent.objects.create(
        campaign=campaign,
        action=CampaignAction.CREATED,
        performed_by=performed_by,
        detail={"automation": automation.pk},
    )
    automation.campaign = campaign
    automation.save(update_fields=["campaign", "updated_at"])
    return campaign


def automation_sync(*, automation: Automation, performed_by: User | None = None) -> Automation:
    """Copy the steps' content to the automation's campaign (one variant per step), which the
    delivery pipeline renders at send time; create that campaign the first time.

    Raises:
        ValidationError: a step has no text for its channel or an unsafe template.
    """
    steps = list(automation.steps.order_by("position"))
    errors: dict[str, str] = {}
    for index, step in enumerate(steps):
        errors.update(step_errors(step, index))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        campaign = _campaign_for(automation, performed_by)
        channels = [c for c in ContactChannel.values if any(c in s.channel_list for s in steps)]
        campaign.channels = channels
        campaign.discount_percent = automation.discount_percent
        campaign.save(update_fields=["channels", "discount_percent", "updated_at"])
        for step in steps:
            if step.variant_id is None:
                step.variant = CampaignVariant.objects.create(
                    campaign=campaign, name=f"step-{step.pk}", split_percent=0
                )
                step.save(update_fields=["variant"])
            VariantContent.objects.filter(variant=step.variant_id).exclude(
                channel__in=step.channel_list
            ).delete()
            for channel in step.channel_list:
                subject, body = step.content(channel)
                VariantContent.objects.update_or_create(
                    variant_id=step.variant_id,
                    channel=channel,
                    defaults={"subject": subject, "body": body},
                )
    return automation


def automations_enrol(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Enrol customers in every active automation whose trigger holds (once per trigger);
    return the new enrolments per automation id."""
    now = now or timezone.now()
    first_steps = {
        step.automation_id: step
        for step in AutomationStep.objects.filter(automation__is_active=True).order_by(
            "automation_id", "-position"
        )
    }  # the last one written per automation is its lowest position
    enrolled = {}
    for automation in Automation.objects.filter(pk__in=list(first_steps)).select_related("segment"):
        with transaction.atomic():
            enrolled[automation.pk] = _enrol(
                automation=automation, first_step=first_steps[automation.pk], now=now
            )
    return enrolled


@dataclass(frozen=True)
class StepsResult:
    """What one run of the due steps did: enrolments due, those that left, messages written."""

    due: int = 0
    left: int = 0
    messages: int = 0


@dataclass(frozen=True)
class _StepChoice:
    """What campaigns.rules.chosen_channel reads of a campaign, for one step."""

    channel_list: list[str]
    channel_mode: str


def _leave(ids: list[int], now: dt.datetime) -> int:
    """Among claimed enrolments, end those whose customer converted or whose trigger no
    longer holds (the cart was ordered, emptied or touched again); return how many."""
    claimed = Enrolment.objects.filter(pk__in=ids, status=EnrolmentStatus.ACTIVE)
    ordered = Order.objects.filter(
        customer=OuterRef("customer"), placed_at__gt=OuterRef("event_at")
    ).exclude(status=OrderStatus.CANCELLED)
    left = claimed.filter(automation__exit_on_order=True).filter(Exists(ordered))
    count = left.update(
        status=EnrolmentStatus.CONVERTED, exit_reason="ordered", exited_at=now, next_due_at=None
    )
    carts = claimed.filter(automation__trigger=TriggerKind.ABANDONED_CART)
    emptied = Q(cart__isnull=True) | ~Q(cart__status__in=OPEN_STATUSES)
    emptied |= ~Q(Exists(CartLine.objects.filter(cart=OuterRef("cart"))))
    count += carts.filter(emptied).update(
        status=EnrolmentStatus.LEFT, exit_reason="cart_emptied", exited_at=now, next_due_at=None
    )
    count += carts.filter(cart__last_activity_at__gt=F("event_at")).update(
        status=EnrolmentStatus.LEFT, exit_reason="cart_changed", exited_at=now, next_due_at=None
    )
    return count


def _send_step(step: AutomationStep, campaign: Campaign, ids: list[int], now: dt.datetime) -> int:
    """Insert this step's messages for the enrolments `ids`, the rules applied in SQL."""
    preferred = step.channel == StepChannel.PREFERRED
    choice = _StepChoice(
        channel_list=step.channel_list,
        channel_mode=ChannelMode.PREFERRED if preferred else ChannelMode.ALL,
    )
    # One row per enrolment: the join below is the one the key's enrolment id is read from.
    enrolled = Customer.objects.filter(automation_enrolments__pk__in=ids)
    countries = rules.configured_countries()
    text = CharField()
    inserted = 0
    for channel in step.channel_list:
        audience = (
            marketing_reachable(enrolled, channel=channel)
            .filter(rules.chosen_channel(campaign=choice, channel=channel))
            .filter(rules.under_cap(now=now))
            .exclude(rules.recent_buyers_of_promoted(campaign=campaign, now=now))
        )
        key = Concat(
            Value(f"a{step.automation_id}-e"),
            Cast(F("automation_enrolments__pk"), text),
            Value(f"-s{step.position}-{channel}"),
            output_field=text,
        )
        inserted += _insert(
            audience,
            {
                **_common(campaign, RUN, now),
                "variant_id": Value(step.variant_id),
                "channel": Value(channel),
                "status": Value(MessageStatus.PENDING.value),
                "not_before": rules.not_before(channel=channel, now=now, countries=countries),
                "idempotency_key": key,
            },
        )
    return inserted


def _advance(
    step: AutomationStep | None,
    following: AutomationStep | None,
    ids: list[int],
    now: dt.datetime,
) -> None:
    enrolments = Enrolment.objects.filter(pk__in=ids, status=EnrolmentStatus.ACTIVE)
    if following is None:
        enrolments.update(
            status=EnrolmentStatus.COMPLETED, next_position=None, next_due_at=None, exited_at=now
        )
    else:
        # The delay counts from when this step went, not from when it was due.
        enrolments.update(next_position=following.position, next_due_at=now + following.delay)


def _claim(now: dt.datetime, limit: int) -> list[tuple[int, int, int]]:
    active = list(
        Automation.objects.filter(is_active=True, campaign__isnull=False).values_list(
            "pk", flat=True
        )
    )
    # An active enrolment has a next position (the column is null once it has none).
    return cast(
        "list[tuple[int, int, int]]",
        list(
            Enrolment.objects.select_for_update(skip_locked=True)
            .filter(status=EnrolmentStatus.ACTIVE, next_due_at__lte=now, automation_id__in=active)
            .order_by("next_due_at", "pk")
            .values_list("pk", "automation_id", "next_position")[:limit]
        ),
    )


def _run_batch(now: dt.datetime, limit: int) -> StepsResult:
    with transaction.atomic():
        claimed = _claim(now, limit)  # a second scheduler skips these rows: no double step
        if not claimed:
            return StepsResult()
        left = _leave([pk for pk, _a, _p in claimed], now)
        staying = set(
            Enrolment.objects.filter(
                pk__in=[pk for pk, _a, _p in claimed], status=EnrolmentStatus.ACTIVE
            ).values_list("pk", flat=True)
        )
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for pk, automation_id, position in claimed:
            if pk in staying:
                groups[(automation_id, position)].append(pk)
        steps: defaultdict[int, list[AutomationStep]] = defaultdict(list)
        step: AutomationStep | None
        for step in AutomationStep.objects.filter(
            automation_id__in={automation_id for automation_id, _p in groups}
        ).select_related("automation__campaign"):
            steps[step.automation_id].append(step)
        materialise_turn()  # the cap: take turns with campaign launches
        messages = 0
        for (automation_id, position), ids in groups.items():
            ordered = sorted(steps[automation_id], key=lambda s: s.position)
            step = next((s for s in ordered if s.position == position), None)
            following = next((s for s in ordered if s.position > position), None)
            if step is not None and step.variant_id is not None:
                campaign = step.automation.campaign
                assert campaign is not None  # _claim takes the automations with a campaign
                messages += _send_step(step, campaign, ids, now)
            _advance(step, following, ids, now)
    return StepsResult(due=len(claimed), left=left, messages=messages)


def automation_steps_run(
    *, now: dt.datetime | None = None, limit: int | None = None
) -> StepsResult:
    """Send every due step (in batches of `limit` enrolments), after letting those who
    converted leave; queue the sending of the automations' due messages."""
    from campaigns.tasks import dispatch_campaign

    now = now or timezone.now()
    limit = limit or int(getattr(settings, "OMNI_AUTOMATION_BATCH", 1000))
    total = StepsResult()
    while True:
        result = _run_batch(now, limit)
        total = StepsResult(
            due=total.due + result.due,
            left=total.left + result.left,
            messages=total.messages + result.messages,
        )
        if result.due < limit:
            break
    # Also picks up messages that waited for quiet hours or a retry, or whose task was lost.
    due_campaigns = (
        Message.objects.filter(
            campaign__automation__isnull=False,
            status=MessageStatus.PENDING,
            not_before__lte=now,
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    for campaign_id in list(due_campaigns):
        # Celery's Django fixup makes every task a DjangoTask; celery-types types them as Task.
        dispatch_campaign.delay_on_commit(campaign_id=campaign_id)  # type: ignore[attr-defined]
    return total


# --- enrolment: one INSERT ... SELECT per trigger ---------------------------------------------


def _insert_enrolments(queryset: QuerySet, columns: dict[str, Expression]) -> int:
    """INSERT INTO enrolment (columns) SELECT ... ON CONFLICT DO NOTHING; rows inserted."""
    aliased = {f"{triggers.PREFIX}{name}": expression for name, expression in columns.items()}
    selected = queryset.order_by().annotate(**aliased).values(*aliased)
    compiler = selected.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    names = [alias.removeprefix(triggers.PREFIX) for _expression, _sql, alias in compiler.select]
    column_list = ", ".join(connection.ops.quote_name(name) for name in names)
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) {sql} "
            "ON CONFLICT (automation_id, customer_id, trigger_key) DO NOTHING",
            params,
        )
        return cursor.rowcount


def _enrol(*, automation: Automation, first_step: AutomationStep, now: dt.datetime) -> int:
    """Enrol everyone this automation's trigger now holds for, once per trigger; return how
    many enrolments were new."""
    trigger = triggers.TRIGGERS[TriggerKind(automation.trigger)](automation, now)
    queryset = trigger.queryset
    segment = automation.segment  # no query when there is none
    if segment is not None:
        members = segment_members(segment=segment, now=now).values("pk")
        queryset = queryset.annotate(enrolled_customer=trigger.customer).filter(
            enrolled_customer__in=members
        )
    nothing = Value(None, output_field=IntegerField())
    due = Greatest(
        trigger.event_at + Value(trigger.wait + first_step.delay),
        Value(now),
        output_field=DateTimeField(),
    )
    columns = {
        "automation_id": Value(automation.pk),
        "customer_id": trigger.customer,
        "trigger_key": trigger.key,
        "event_at": trigger.event_at,
        "enrolled_at": Value(now),
        "status": Value(EnrolmentStatus.ACTIVE.value),
        "next_position": Value(first_step.position),
        "next_due_at": due,
        "exited_at": Value(None, output_field=DateTimeField()),
        "exit_reason": Value(""),
        "cart_id": nothing,
        "order_id": nothing,
        "variant_id": nothing,
        "location_id": nothing,
        **trigger.references,
    }
    return _insert_enrolments(queryset, columns)
