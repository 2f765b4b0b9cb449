"""What the campaigns app contributes to the 360° customer view (customers/customer360/).

Messages she received, opened and clicked (stamped once on the message), and the orders
attributed to them: the `Attribution` rows of campaigns/services/attribution.py (last touch),
or, while those do not exist, the orders that redeemed a campaign's discount code. On the
timeline, messages sent, opened, clicked and attributed orders, in one query.
"""

from __future__ import annotations

from decimal import Decimal

from django.apps import apps
from django.db.models import Count, F, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from campaigns.models import DiscountCode, Message, MessageStatus
from customers.customer360.registry import (
    Fact,
    Panel,
    Row,
    Section,
    Table,
    TimelineEntry,
    TimelineQuery,
    TimelineSource,
    Viewer,
    register_section,
    register_timeline_source,
)
from customers.customer360.unions import newest_rows, part
from customers.models import ContactChannel, Customer

ATTRIBUTED_SHOWN = 10
SENT, OPENED, CLICKED, ATTRIBUTED = (
    "message_sent",
    "message_opened",
    "message_clicked",
    "attributed",
)


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _attributed(customer: Customer) -> QuerySet:
    """Her attributed orders as rows (at, number, total, campaign, channel), newest first."""
    try:
        attribution = apps.get_model("campaigns", "Attribution")
    except LookupError:
        attribution = None
    if attribution is not None:
        return (
            attribution.objects.filter(customer=customer, is_last_touch=True)
            .order_by()
            .annotate(
                at=F("order_placed_at"),
                number=F("order__number"),
                total=F("order_total"),
                campaign_name=F("campaign__name"),
                via=F("channel"),
            )
        )
    return (
        DiscountCode.objects.filter(customer=customer, redeemed_order__isnull=False)
        .order_by()
        .annotate(
            at=F("redeemed_at"),
            number=F("redeemed_order__number"),
            total=F("redeemed_order__total"),
            campaign_name=F("campaign__name"),
            via=F("message__channel"),
        )
    )


def messages_panel(customer: Customer, viewer: Viewer) -> Panel:
    """Counts in one aggregate, and the latest attributed orders in one query."""
    counts = Message.objects.filter(customer=customer).aggregate(
        received=Count("pk", filter=Q(status=MessageStatus.SENT)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    attributed = list(
        _attributed(customer)
        .order_by("-at")
        .values("at", "number", "total", "campaign_name", "via")[:ATTRIBUTED_SHOWN]
    )
    rows = tuple(
        Row(
            (
                _when(row["at"]),
                row["number"],
                f"{row['total'] or Decimal('0.00'):.2f} €",
                row["campaign_name"],
                _channel(row["via"]),
            )
        )
        for row in attributed
    )
    return Panel(
        key="messages",
        title=_("Campaign messages"),
        facts=(
            Fact(pgettext("message count", "Received"), str(counts["received"])),
            Fact(pgettext("message count", "Opened"), str(counts["opened"])),
            Fact(pgettext("message count", "Clicked"), str(counts["clicked"])),
        ),
        tables=(
            Table(
                _("Attributed orders"),
                (
                    pgettext("order date", "Placed"),
                    _("Order"),
                    _("Total"),
                    _("Campaign"),
                    _("Channel"),
                ),
                rows,
                empty=_("No order attributed to a message."),
            ),
        ),
        data={**counts, "attributed": attributed},
    )


def _channel(value: str) -> str:
    return str(ContactChannel(value).label) if value in ContactChannel.values else value or "—"


def _parts(query: TimelineQuery) -> list:
    messages = Message.objects.filter(customer=query.customer)
    parts = [
        part(messages, at=field, kind=kind, channel="channel", a="campaign__name")
        for field, kind in (("sent_at", SENT), ("opened_at", OPENED), ("clicked_at", CLICKED))
        if query.wants(kind)
    ]
    if query.wants(ATTRIBUTED):
        parts.append(
            part(
                _attributed(query.customer),
                at="at",
                kind=ATTRIBUTED,
                channel="via",
                a="campaign_name",
                b="number",
                c="total",
            )
        )
    if query.channels:
        parts = [p.filter(tl_channel__in=list(query.channels)) for p in parts]
    return parts


TITLES = {
    SENT: gettext_lazy("Message received: %(campaign)s"),
    OPENED: gettext_lazy("Message opened: %(campaign)s"),
    CLICKED: gettext_lazy("Message clicked: %(campaign)s"),
    ATTRIBUTED: gettext_lazy("Order %(number)s attributed to %(campaign)s"),
}


def _entry(row: dict) -> TimelineEntry:
    kind = row["tl_kind"]
    title = str(TITLES[kind]) % {"campaign": row["tl_a"], "number": row["tl_b"]}
    detail = f"{row['tl_c']} €" if kind == ATTRIBUTED else _channel(row["tl_channel"])
    return TimelineEntry(
        at=row["tl_at"], kind=kind, channel=row["tl_channel"], title=title, detail=detail
    )


def campaigns_timeline(query: TimelineQuery) -> list[TimelineEntry]:
    return [_entry(row) for row in newest_rows(_parts(query), limit=query.limit)]


def register_customer360() -> None:
    """Add the campaigns panel and timeline source to the 360° view (CampaignsConfig.ready)."""
    register_section(Section("messages", 80, messages_panel))
    register_timeline_source(
        TimelineSource(
            key="campaigns",
            kinds=(
                (SENT, gettext_lazy("Message received")),
                (OPENED, gettext_lazy("Message opened")),
                (CLICKED, gettext_lazy("Message clicked")),
                (ATTRIBUTED, gettext_lazy("Attributed order")),
            ),
            channels=tuple(ContactChannel.choices),
            fetch=campaigns_timeline,
        )
    )
