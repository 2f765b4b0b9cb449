"""Reads over automations: what an automation message's template sees beyond a campaign's
(the survey link, the product back in stock), and an automation's enrolment counts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, Q

from campaigns.models import Automation, Enrolment, EnrolmentStatus, Message
from customers.satisfaction import survey_link

# The idempotency key of an automation message (see services._send_step).
KEY = re.compile(r"^a(?P<automation>\d+)-e(?P<enrolment>\d+)-s(?P<step>\d+)-")
EMPTY = {"survey_url": "", "wanted_product": {}}


def enrolment_id_of(message: Message) -> int | None:
    """The enrolment an automation message was sent for; None for a campaign message."""
    match = KEY.match(message.idempotency_key)
    return int(match["enrolment"]) if match else None


def _wanted(enrolment: Enrolment) -> dict:
    variant = enrolment.variant
    if variant is None:
        return {}
    product = variant.product
    return {
        "name": variant.name,
        "brand": product.brand,
        "price": str(variant.price),
        "url": f"{settings.OMNI_PUBLIC_URL}/p/{product.reference}/",
    }


def message_contexts(messages: Iterable[Message]) -> dict[int, dict]:
    """Per message id, the automation values of its template (empty ones for campaigns)."""
    by_message = {message.pk: enrolment_id_of(message) for message in messages}
    enrolments = Enrolment.objects.filter(
        pk__in=[pk for pk in by_message.values() if pk is not None]
    ).select_related("customer", "order", "location", "variant__product")
    found: dict[int | None, Enrolment] = {enrolment.pk: enrolment for enrolment in enrolments}
    result = {}
    for message_id, enrolment_id in by_message.items():
        enrolment = found.get(enrolment_id)
        if enrolment is None:
            result[message_id] = dict(EMPTY)
            continue
        order = enrolment.order
        result[message_id] = {
            "survey_url": survey_link(
                customer=enrolment.customer,
                order_number=order.number,
                store=enrolment.location,
                channel=order.channel,
            )
            if order is not None
            else "",
            "wanted_product": _wanted(enrolment),
        }
    return result


def automation_counts(*, automation: Automation) -> dict[str, int]:
    """Enrolments per status, in one query: the automation's page."""
    return Enrolment.objects.filter(automation=automation).aggregate(
        **{status.value: Count("pk", filter=Q(status=status.value)) for status in EnrolmentStatus}
    )
