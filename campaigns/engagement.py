"""Engagement segment fields: received, opened or clicked a message in the last N days,
on one channel or any. Each is one correlated EXISTS over messages or tracking events (indexed
by customer), so a segment stays one SQL query. Registered on import by campaigns.conditions.
"""

from __future__ import annotations

from django.db.models import OuterRef, Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import Message, MessageStatus, TrackingEvent, TrackingKind
from campaigns.segments import Condition, ConditionType, choice, exists, integer, register
from customers.models import ContactChannel

OPERATORS = {"within_days": integer, "not_within_days": integer}
OPTIONS = {"channel": choice(tuple(ContactChannel.values))}
# A click proves an open even when the pixel was blocked.
KINDS = {"opened": (TrackingKind.OPEN, TrackingKind.CLICK), "clicked": (TrackingKind.CLICK,)}


def _on_channel(queryset, condition: Condition):
    channel = condition.options.get("channel")
    return queryset if channel is None else queryset.filter(channel=channel)


def _received(condition: Condition) -> Q:
    messages = Message.objects.filter(
        customer=OuterRef("pk"),
        status=MessageStatus.SENT,
        sent_at__gte=condition.since(condition.value),
    )
    found = exists(_on_channel(messages, condition))
    return found if condition.op == "within_days" else ~found


def _tracked(field: str):
    def compile_tracked(condition: Condition) -> Q:
        events = TrackingEvent.objects.filter(
            customer=OuterRef("pk"),
            kind__in=KINDS[field],
            at__gte=condition.since(condition.value),
        )
        found = exists(_on_channel(events, condition))
        return found if condition.op == "within_days" else ~found

    return compile_tracked


register(
    ConditionType(
        "received", _("Received a message in the last N days"), OPERATORS, _received, OPTIONS
    )
)
register(
    ConditionType(
        "opened", _("Opened a message in the last N days"), OPERATORS, _tracked("opened"), OPTIONS
    )
)
register(
    ConditionType(
        "clicked",
        _("Clicked a link in a message in the last N days"),
        OPERATORS,
        _tracked("clicked"),
        OPTIONS,
    )
)
