"""Helpers shared by the automation tests: a sink, automations made through the service, the
beat tick, and reading the links of a sent message."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlsplit

from django.urls import resolve
from django.utils import timezone

from campaigns import services, tasks
from campaigns import services as automations
from campaigns.models import Automation

URL = re.compile(r"https?://\S+")


def deliveries(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def make_automation(trigger: str, *steps: automations.StepSpec, **fields) -> Automation:
    """An automation through the service, listening to events of the last 30 days."""
    fields.setdefault("starts_at", timezone.now() - dt.timedelta(days=30))
    spec = automations.AutomationSpec(
        name=fields.pop("name", trigger), trigger=trigger, steps=steps, **fields
    )
    return automations.automation_create(spec=spec)


def email(body: str, *, delay: dt.timedelta = dt.timedelta(), subject: str = "Omni"):
    return automations.StepSpec(
        channel="email", delay=delay, email_subject=subject, email_body=body
    )


def sms(body: str, *, delay: dt.timedelta = dt.timedelta()):
    return automations.StepSpec(channel="sms", delay=delay, sms_body=body)


def send_due(now: dt.datetime | None = None) -> None:
    """What the delivery tasks do with the automations' due messages."""
    for campaign_id in Automation.objects.values_list("campaign_id", flat=True):
        while services.messages_send_batch(campaign_id=campaign_id, now=now).claimed:
            pass


def tick(now: dt.datetime | None = None) -> None:
    """One beat tick: the two automation tasks (at `now` through their services), then the
    sending the tasks queue."""
    if now is None:
        tasks.enrol_automations()
        tasks.run_automation_steps()
    else:
        automations.automations_enrol(now=now)
        automations.automation_steps_run(now=now)
    send_due(now)


def targets(body: str) -> list[str]:
    """The links of a message, unwrapped from their click redirects when they are tracked."""
    from campaigns import tracking

    found = []
    for url in URL.findall(body):
        match = resolve(urlsplit(url).path)
        if match.url_name == "track-click":
            url = tracking.read_click_token(match.kwargs["token"]).url
        found.append(url)
    return found
