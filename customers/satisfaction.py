"""Satisfaction: the post-purchase survey answered through a signed link, and CSAT.

The campaigns automation sends `survey_link(...)` after a collection or a delivery. The link
names the customer, the order (by number), the store and the channel; it is signed (salt below),
expires after settings.OMNI_SURVEY_LINK_MAX_AGE seconds, and can be answered once: one answer per
order (a unique constraint). Recording the answer is a service
(`customers/services/satisfaction.py`); this module only signs, reads and counts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from django.conf import settings
from django.core import signing
from django.db.models import Count, DateField, F, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse

from customers.models import Channel, Customer
from customers.models_service import SurveyAnswer
from inventory.models import Location

SURVEY_SALT = "omni.customers.survey"
DEFAULT_SURVEY_MAX_AGE = 30 * 86_400
SATISFIED_FROM = 4  # CSAT counts the answers of 4 and 5 out of 5
PERCENT = Decimal("0.1")


class SurveyLink(NamedTuple):
    customer_id: int
    order_number: str
    store_id: int | None
    channel: str


def survey_max_age() -> int:
    return int(getattr(settings, "OMNI_SURVEY_LINK_MAX_AGE", DEFAULT_SURVEY_MAX_AGE))


def survey_token(
    *, customer: Customer, order_number: str, store: Location | None = None, channel: str
) -> str:
    """The signed token of a survey link."""
    payload = {
        "c": customer.pk,
        "o": order_number,
        "s": store.pk if store else None,
        "ch": channel,
    }
    return signing.dumps(payload, salt=SURVEY_SALT, compress=True)


def survey_link(
    *, customer: Customer, order_number: str, store: Location | None = None, channel: str
) -> str:
    """The link to put in the post-purchase message, on settings.OMNI_PUBLIC_URL."""
    token = survey_token(customer=customer, order_number=order_number, store=store, channel=channel)
    path = reverse("customers:survey", kwargs={"token": token})
    return f"{getattr(settings, 'OMNI_PUBLIC_URL', '').rstrip('/')}{path}"


def read_survey_token(token: str) -> SurveyLink:
    """Decode a token; signing.SignatureExpired or signing.BadSignature when not valid."""
    payload = signing.loads(token, salt=SURVEY_SALT, max_age=survey_max_age())
    valid = (
        isinstance(payload, dict)
        and isinstance(payload.get("c"), int)
        and isinstance(payload.get("o"), str)
        and payload["o"]
        and (payload.get("s") is None or isinstance(payload["s"], int))
        and payload.get("ch") in Channel.values
    )
    if not valid:
        raise signing.BadSignature("unexpected payload")
    return SurveyLink(payload["c"], payload["o"], payload["s"], payload["ch"])


def survey_answered(*, link: SurveyLink) -> bool:
    return SurveyAnswer.objects.filter(order_number=link.order_number).exists()


class CsatRow(NamedTuple):
    key: object  # a store code (None: no store), a channel, or the first day of a month
    answers: int
    satisfied: int
    csat: Decimal  # percent of answers scoring 4 or 5, one decimal


GROUPS = {
    "store": F("store__code"),
    "channel": F("channel"),
    "month": TruncMonth("answered_at", output_field=DateField()),
}


def csat(
    *, since: datetime, until: datetime, group_by: Literal["store", "channel", "month"]
) -> list[CsatRow]:
    """CSAT of the answers given between `since` (included) and `until` (excluded), per store,
    channel or month, in one aggregate query.

    Raises:
        ValueError: an unknown group_by.
    """
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {sorted(GROUPS)}, got {group_by!r}")
    rows = (
        SurveyAnswer.objects.filter(answered_at__gte=since, answered_at__lt=until)
        .annotate(group=GROUPS[group_by])
        .values("group")
        .annotate(answers=Count("pk"), satisfied=Count("pk", filter=Q(score__gte=SATISFIED_FROM)))
        .order_by("group")
    )
    return [
        CsatRow(
            key=row["group"],
            answers=row["answers"],
            satisfied=row["satisfied"],
            csat=(Decimal(100 * row["satisfied"]) / row["answers"]).quantize(PERCENT),
        )
        for row in rows
    ]
