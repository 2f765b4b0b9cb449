"""Campaign creation: validation, sandboxed templates, schedules through django-celery-beat."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, ScheduleKind
from campaigns.templating import TemplateRefused, check_template, render
from tests.campaigns.factories import make_campaign

pytestmark = pytest.mark.django_db


def test_render_sees_only_the_plain_values_given():
    source = (
        "Bonjour {{ first_name|default:'vous' }}, {% for line in cart_lines %}{{ line.name }} "
        "x{{ line.quantity }}{% if not forloop.last %}, {% endif %}{% endfor %} - {{ store.name }}"
    )
    check_template(source)

    text = render(
        source,
        {
            "first_name": "",
            "cart_lines": [{"name": "Robe", "quantity": 2}, {"name": "Sac", "quantity": 1}],
            "store": {"name": "Paris Rivoli"},
        },
    )
    assert text == "Bonjour vous, Robe x2, Sac x1 - Paris Rivoli"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ first_name.upper }}", "first_name.upper is not a variable"),
        ("{{ cart_lines.clear }}", "cart_lines.clear is not a variable"),
        ("{% for l in cart_lines %}{{ l.variant }}{% endfor %}", "l.variant is not a variable"),
        ("{% if store.owner %}x{% endif %}", "store.owner is not a variable"),
        ("{% with s=store %}{{ s.pk }}{% endwith %}", "s.pk is not a variable"),
        ("{{ settings.SECRET_KEY }}", "settings is not a variable"),
        ("{{ first_name|default:customer.email }}", "customer is not a variable"),
        ("{{ first_name.__class__ }}", "may not begin with underscores"),
        ("{% debug %}", "Invalid block tag"),
        ("{% include 'admin/base.html' %}", "Invalid block tag"),
        ("{% load static %}", "Invalid block tag"),
        ("{{ first_name|safe }}", "Invalid filter"),
        ("{% for x in %}", "template error"),
        ("{% if first_name %}unclosed", "template error"),
    ],
)
def test_forbidden_variables_and_syntax_errors_are_refused(source, message):
    with pytest.raises(TemplateRefused) as error:
        check_template(source)

    assert message in error.value.messages[0]


def test_a_forbidden_variable_is_refused_at_save_and_nothing_is_written():
    bad = services.VariantSpec(
        name="A",
        split_percent=100,
        contents=(services.ChannelContent(channel="sms", body="Hi {{ first_name.title }}"),),
    )
    with pytest.raises(ValidationError) as error:
        make_campaign(channels=("sms",), variants=(bad,))

    assert error.value.message_dict == {
        "variants[0].sms.body": ["first_name.title is not a variable messages may use"]
    }
    assert Campaign.objects.count() == 0


def test_no_channel_no_content_past_schedule_and_bad_split_are_clear_errors():
    past = timezone.now() - dt.timedelta(minutes=1)
    variants = (
        services.VariantSpec(name="A", split_percent=60, contents=()),
        services.VariantSpec(name="B", split_percent=30, contents=()),
    )
    with pytest.raises(ValidationError) as error:
        make_campaign(channels=(), schedule=services.Schedule(kind=ScheduleKind.AT, send_at=past))
    assert error.value.message_dict == {
        "channels": ["Choose at least one channel."],
        "send_at": ["The time to send at is in the past."],
    }

    with pytest.raises(ValidationError) as error:
        make_campaign(name="Split", channels=("email",), variants=variants)
    assert error.value.message_dict == {
        "variants": ["The variants' shares must add up to 100%."],
        "variants[0].email": ["Variant A has no text for email."],
        "variants[1].email": ["Variant B has no text for email."],
    }
    assert Campaign.objects.count() == 0


def test_a_campaign_at_a_time_is_a_clocked_one_off_periodic_task():
    at = timezone.now() + dt.timedelta(hours=2)

    campaign = make_campaign(schedule=services.Schedule(kind=ScheduleKind.AT, send_at=at))

    task = PeriodicTask.objects.get(pk=campaign.periodic_task_id)
    assert (task.task, json.loads(task.kwargs), task.one_off) == (
        "campaigns.launch_campaign",
        {"campaign_id": campaign.pk},
        True,
    )
    assert task.clocked.clocked_time == at
    assert campaign.status == CampaignStatus.SCHEDULED


def test_a_recurring_campaign_is_a_crontab_and_cancel_disables_it():
    campaign = make_campaign(
        schedule=services.Schedule(kind=ScheduleKind.RECURRING, recurrence="0 10 * * 1")
    )
    task = PeriodicTask.objects.get(pk=campaign.periodic_task_id)
    assert (task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == (
        "10",
        "1",
        "Europe/Paris",
    )

    services.campaign_cancel(campaign=campaign)

    task.refresh_from_db()
    campaign.refresh_from_db()
    assert (task.enabled, campaign.status) == (False, CampaignStatus.CANCELLED)
