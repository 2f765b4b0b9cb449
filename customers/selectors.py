"""Reads over customers: search, who may be reached on which channel, service contacts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextChoices
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from customers.models import (
    ConsentState,
    ContactChannel,
    Customer,
    CustomerQuerySet,
    Device,
    DoNotContactReason,
)
from customers.models_service import (
    Contact,
    ContactReason,
    Conversation,
    ConversationStatus,
    ServiceChannel,
)
from customers.phone import phone_or_none
from customers.services.privacy import is_erased_identity

# A salesperson reads ten names at a glance; past that, the screen asks for a sharper search.
SEARCH_LIMIT = 10
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,}$")
EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A bounce or a complaint on a channel stops even order updates there.
HARD_STOPS = (DoNotContactReason.BOUNCED, DoNotContactReason.COMPLAINT)


class MessagePurpose(TextChoices):
    TRANSACTIONAL = "transactional", _("Transactional (order updates)")
    MARKETING = "marketing", _("Marketing")


def customer_search(*, query: str, limit: int = SEARCH_LIMIT) -> QuerySet[Customer]:
    """Live customers matching a name, an email, a phone or a card number, at most `limit`.

    The query is read for what it looks like: a phone number ("06 12 34 56 78") is normalised to
    E.164 and matched exactly, as is a card number (btree indexes of the unique constraints); an
    email is matched exactly (the lower-case unique index) or, partly typed, by trigram; names
    are matched by how they start (btree pattern indexes, migration 0004), and only when nothing
    starts so, by words appearing anywhere in them (trigram GIN indexes, migration 0003).
    """
    text = " ".join(query.split())
    customers = Customer.objects.live()
    if not text:
        return customers.none()
    card = Q(card_number="".join(text.split()).upper())
    if PHONE_LIKE.match(text):
        phone = phone_or_none(text)
        return customers.filter(card | Q(phone=phone) if phone else card)[:limit]
    if "@" in text:
        email = customers.alias(email_lower=Lower("email"))
        if EMAIL_LIKE.match(text):  # a whole address: the unique index, exact
            return email.filter(email_lower=text.lower())[:limit]
        return customers.filter(email__icontains=text)[:limit]
    if any(character.isdigit() for character in text):  # names have no digits: a card number
        return customers.filter(card)[:limit]
    by_prefix = customers.filter(_name_prefixes(text.split()))[:limit]
    if by_prefix:
        return by_prefix
    # Nothing starts so: look for the words anywhere in the names (trigram indexes).
    words = Q()
    for word in text.split():
        words &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return customers.filter(words)[:limit]


def _name_prefixes(words: list[str]) -> Q:
    """Names as staff type them, from the start: "cam mar" finds Camille Martin.

    One word starts the last or the first name; two or more start the last name and the first
    name, in either order. Served by the btree pattern indexes of migration 0004.
    """
    if len(words) == 1:
        return Q(last_name__istartswith=words[0]) | Q(first_name__istartswith=words[0])
    head, tail = words[0], " ".join(words[1:])
    last_first = Q(last_name__istartswith=tail) & Q(first_name__istartswith=head)
    first_last = Q(last_name__istartswith=head) & Q(first_name__istartswith=tail)
    return last_first | first_last


def has_active_device() -> Exists:
    """The customer (the outer query's row) has at least one active device: somewhere a push
    can go. The push "address", as an email is for e-mail and a phone for SMS."""
    return Exists(Device.objects.filter(customer=OuterRef("pk"), active=True))


def push_tokens(*, customer_ids: list[int]) -> dict[int, list[str]]:
    """The active device tokens of these customers, per customer, most recently seen first
    (one query; customers without an active device are absent)."""
    tokens: dict[int, list[str]] = {}
    rows = (
        Device.objects.filter(customer_id__in=list(customer_ids), active=True)
        .order_by("customer_id", "-last_seen_at", "pk")
        .values_list("customer_id", "token")
    )
    for customer_id, token in rows:
        tokens.setdefault(customer_id, []).append(token)
    return tokens


def _address(customer: Customer, channel: str, states: dict[str, ConsentState]) -> bool:
    if channel == ContactChannel.EMAIL:
        return bool(customer.email)
    if channel == ContactChannel.SMS:
        return bool(customer.phone)
    # Push needs the consent (the app's notification permission) as well as a device: without
    # it the phone would not show the message, even an order update.
    state = states.get(channel)
    if state is None or not state.granted:
        return False
    return Device.objects.filter(customer=customer, active=True).exists()


def reachable_channels(*, customer: Customer, purpose: MessagePurpose) -> list[str]:
    """The channels a message of `purpose` may use for this customer, preferred channel first.

    Transactional: any channel with an address, unless it bounced or drew a complaint; push
    also needs her consent and an active device. Marketing: only channels with a current grant
    (and, for push, an active device). Nothing at all for a merged, erased or
    suppressed profile, or one whose email or phone was erased before (re-imported).
    """
    if not customer.is_live or customer.suppressed:
        return []
    if is_erased_identity(email=customer.email, phone=customer.phone):
        return []
    states = {state.channel: state for state in ConsentState.objects.filter(customer=customer)}
    channels = []
    for channel in ContactChannel.values:
        if not _address(customer, channel, states):
            continue
        state = states.get(channel)
        if purpose == MessagePurpose.MARKETING:
            allowed = state is not None and state.granted
        else:
            allowed = state is None or state.reason not in HARD_STOPS
        if allowed:
            channels.append(channel)
    preferred = customer.preferred_channel
    return sorted(channels, key=lambda channel: channel != preferred)


def marketing_reachable(queryset: CustomerQuerySet, *, channel: str) -> CustomerQuerySet:
    """Narrow `queryset` to the customers a marketing message on `channel` may target.

    Set-based twin of reachable_channels(purpose=MARKETING); the erased-identity check relies on
    the `suppressed` flag that customer_resolve and customer_update set.
    """
    granted = ConsentState.objects.filter(customer=OuterRef("pk"), channel=channel, granted=True)
    reachable = queryset.live().filter(Exists(granted), suppressed=False)
    if channel == ContactChannel.EMAIL:
        reachable = reachable.filter(email__isnull=False)
    elif channel == ContactChannel.SMS:
        reachable = reachable.filter(phone__isnull=False)
    elif channel == ContactChannel.PUSH:
        reachable = reachable.filter(has_active_device())
    return reachable


# --- service contacts -------------------------------------------------------------------------


class ContactReportRow(NamedTuple):
    reason: str
    channel: str
    # The report's column, named as the template reads it (it shadows tuple.count).
    count: int  # type: ignore[assignment]
    open_count: int  # contacts whose conversation is still open

    @property
    def reason_label(self) -> str:
        return str(ContactReason(self.reason).label)

    @property
    def channel_label(self) -> str:
        return str(ServiceChannel(self.channel).label)


def contacts_report(*, since: datetime, until: datetime) -> list[ContactReportRow]:
    """Contacts between `since` (included) and `until` (excluded) by reason and channel, most
    frequent first: one aggregate query."""
    rows = (
        Contact.objects.filter(at__gte=since, at__lt=until)
        .values("reason", "channel")
        .annotate(
            count=Count("pk"),
            open_count=Count("pk", filter=Q(conversation__status=ConversationStatus.OPEN)),
        )
        .order_by("-count", "reason", "channel")
    )
    return [
        ContactReportRow(row["reason"], row["channel"], row["count"], row["open_count"])
        for row in rows
    ]


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """A customer's contacts, newest first, with their conversation, agent and store."""
    return Contact.objects.filter(customer=customer).select_related(
        "conversation", "agent", "store"
    )


def open_conversations(*, customer: Customer) -> QuerySet[Conversation]:
    """The conversations of a customer a new contact may continue."""
    return Conversation.objects.filter(customer=customer, status=ConversationStatus.OPEN)
