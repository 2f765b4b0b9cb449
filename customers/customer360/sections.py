"""What the customers app contributes to the 360° view: profile and consents, loyalty, service
contacts and satisfaction answers, and their entries on the timeline."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers import loyalty
from customers.customer360.registry import (
    Fact,
    Link,
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
from customers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    ContactOutcome,
    ContactReason,
    Customer,
    LoyaltyMovement,
    LoyaltyMovementKind,
    ServiceChannel,
    SurveyAnswer,
)
from customers.models_devices import Device
from customers.selectors import customer_contacts
from omni import roles

CONTACTS_SHOWN = 10
ANSWERS_SHOWN = 10


def when(value) -> str:
    """A date and time as the store reads it (Europe/Paris), like the rest of the page."""
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"


def profile_panels(customer: Customer, viewer: Viewer) -> list[Panel]:
    profile = Panel(
        key="profile",
        title=_("Profile"),
        facts=(
            Fact(_("Email"), customer.email or "—"),
            Fact(_("Phone"), customer.phone or "—"),
            Fact(_("Loyalty card"), customer.card_number or "—"),
            Fact(
                _("Birth date"),
                formats.date_format(customer.birth_date) if customer.birth_date else "—",
            ),
            Fact(_("Postal code"), customer.postal_code or "—"),
            Fact(_("Preferred store"), str(customer.preferred_store or "—")),
            Fact(_("Preferred channel"), customer.get_preferred_channel_display() or "—"),
            Fact(
                _("Customer since"),
                f"{formats.date_format(customer.created_at)} "
                f"({customer.get_created_channel_display()})",
            ),
        ),
        note=_("Never to be targeted (erased identity)") if customer.suppressed else "",
        data=customer,
    )
    # Her active app installations ride along in the same query: a push needs one.
    installations = (
        Device.objects.filter(customer=OuterRef("customer"), active=True)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    states = {
        state.channel: state
        for state in ConsentState.objects.filter(customer=customer).annotate(
            devices=Subquery(installations, output_field=IntegerField())
        )
    }
    rows = []
    for channel, label in ContactChannel.choices:
        state = states.get(channel)
        if state is None:
            status, since = _("Not asked"), "—"
        elif state.granted:
            status = f"{_('Granted')} ({state.get_opt_in_level_display()})"
            since = when(state.updated_at)
        else:
            reason = f": {state.get_reason_display()}" if state.reason else ""
            status, since = f"{_('Withdrawn')}{reason}", when(state.updated_at)
        if channel == ContactChannel.PUSH and state is not None:
            devices = state.devices or 0
            status += " · " + (
                ngettext(
                    "%(count)d active app installation",
                    "%(count)d active app installations",
                    devices,
                )
                % {"count": devices}
                if devices
                else _("no active app installation: a push cannot reach her")
            )
        rows.append(Row((str(label), status, since)))
    consents = Panel(
        key="consents",
        title=_("Consents"),
        tables=(
            Table(
                _("Marketing consent per channel"),
                (_("Channel"), _("Marketing"), _("Since")),
                tuple(rows),
            ),
        ),
        data=states,
    )
    return [profile, consents]


def loyalty_panel(customer: Customer, viewer: Viewer) -> Panel:
    summary = loyalty.loyalty_summary(customer=customer)
    tier = str(summary.tier.label)
    if summary.next_tier:
        tier += " " + _("(%(spend)s € more for %(tier)s)") % {
            "spend": summary.spend_to_next_tier,
            "tier": summary.next_tier.label,
        }
    return Panel(
        key="loyalty",
        title=_("Loyalty"),
        facts=(
            Fact(_("Points"), str(summary.balance)),
            Fact(_("Tier"), tier),
            Fact(_("Spent over 12 months"), f"{summary.spend_12_months} €"),
        ),
        data=summary,
    )


def contacts_panel(customer: Customer, viewer: Viewer) -> Panel:
    contacts = list(customer_contacts(customer=customer)[:CONTACTS_SHOWN])
    rows = tuple(
        Row(
            (
                when(contact.at),
                contact.get_channel_display(),
                contact.get_reason_display(),
                contact.get_outcome_display(),
                _("#%(number)s (%(status)s)")
                % {
                    "number": contact.conversation_id,
                    "status": contact.conversation.get_status_display(),
                },
                (contact.agent.get_full_name() or contact.agent.get_username())
                if contact.agent
                else "—",
                contact.notes,
            )
        )
        for contact in contacts
    )
    links = ()
    if viewer.has_perm(roles.SERVICE_SCREENS):
        links = (Link(_("Log a contact"), reverse("customers:contact-log", args=[customer.pk])),)
    columns = (
        _("At"),
        _("Channel"),
        _("Reason"),
        _("Outcome"),
        _("Conversation"),
        _("Agent"),
        _("Notes"),
    )
    return Panel(
        key="contacts",
        title=_("Service contacts"),
        tables=(Table(_("Latest contacts"), columns, rows, empty=_("No contact logged.")),),
        links=links,
        data=contacts,
    )


def satisfaction_panel(customer: Customer, viewer: Viewer) -> Panel:
    answers = list(
        SurveyAnswer.objects.filter(customer=customer).select_related("store")[:ANSWERS_SHOWN]
    )
    rows = tuple(
        Row(
            (
                when(answer.answered_at),
                answer.order_number,
                answer.get_channel_display(),
                str(answer.store or "—"),
                f"{answer.score}/5",
                answer.comment,
            )
        )
        for answer in answers
    )
    columns = (_("At"), _("Order"), _("Channel"), _("Store"), _("Score"), _("Comment"))
    return Panel(
        key="satisfaction",
        title=_("Satisfaction"),
        tables=(Table(_("Survey answers"), columns, rows, empty=_("No survey answered.")),),
        data=answers,
    )


# --- Timeline ------------------------------------------------------------------------------------
CONTACT, SURVEY, CONSENT, LOYALTY = "contact", "survey", "consent", "loyalty"


def _parts(query: TimelineQuery) -> list:
    customer = query.customer
    parts = []
    if query.wants(CONTACT):
        parts.append(
            part(
                customer_contacts(customer=customer),
                at="at",
                kind=CONTACT,
                channel="channel",
                a="reason",
                b="outcome",
                c="notes",
            )
        )
    if query.wants(SURVEY):
        parts.append(
            part(
                SurveyAnswer.objects.filter(customer=customer),
                at="answered_at",
                kind=SURVEY,
                channel="channel",
                a="score",
                b="order_number",
                c="comment",
            )
        )
    if query.wants(CONSENT):
        parts.append(
            part(
                ConsentEvent.objects.filter(customer=customer),
                at="created_at",
                kind=CONSENT,
                channel="channel",
                a="action",
                b="reason",
                c="source_channel",
            )
        )
    if query.wants(LOYALTY):
        parts.append(
            part(
                LoyaltyMovement.objects.filter(account__customer=customer),
                at="created_at",
                kind=LOYALTY,
                channel=Value(""),
                a="kind",
                b="points",
                c="reference",
            )
        )
    if query.channels:
        parts = [p.filter(tl_channel__in=list(query.channels)) for p in parts]
    return parts


def _entry(row: dict) -> TimelineEntry:
    kind, a, b, c = row["tl_kind"], row["tl_a"], row["tl_b"], row["tl_c"]
    if kind == CONTACT:
        title = _("Contact: %(reason)s") % {"reason": _label(ContactReason, a)}
        detail = " · ".join(filter(None, [_label(ContactOutcome, b), c]))
    elif kind == SURVEY:
        title = _("Satisfaction: %(score)s/5") % {"score": a}
        detail = " · ".join(filter(None, [_("order %(number)s") % {"number": b}, c]))
    elif kind == CONSENT:
        title = _("Consent %(action)s") % {"action": _label(ConsentAction, a).lower()}
        detail = " · ".join(filter(None, [_label(Channel, c), b]))
    else:
        title = _("Loyalty: %(points)s points") % {"points": b}
        detail = " · ".join(filter(None, [_label(LoyaltyMovementKind, a), c]))
    return TimelineEntry(
        at=row["tl_at"], kind=kind, channel=row["tl_channel"], title=title, detail=detail
    )


def customers_timeline(query: TimelineQuery) -> list[TimelineEntry]:
    return [_entry(row) for row in newest_rows(_parts(query), limit=query.limit)]


register_section(Section("profile", 10, profile_panels))
register_section(Section("loyalty", 20, loyalty_panel))
register_section(Section("contacts", 60, contacts_panel))
register_section(Section("satisfaction", 70, satisfaction_panel))
register_timeline_source(
    TimelineSource(
        key="customers",
        kinds=(
            (CONTACT, gettext_lazy("Service contact")),
            (SURVEY, gettext_lazy("Satisfaction answer")),
            (CONSENT, gettext_lazy("Consent")),
            (LOYALTY, gettext_lazy("Loyalty points")),
        ),
        channels=(*ServiceChannel.choices, *ContactChannel.choices, *Channel.choices),
        fetch=customers_timeline,
    )
)
