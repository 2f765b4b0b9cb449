"""Service contacts: log a chat, a call, an email or a store visit; contacts about one matter
form a conversation that may change channel (a chat continued by phone).

The reads (a customer's contacts, her open conversations, the report by reason and channel) are
in `customers/selectors.py`.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exceptions import CustomerNotLive
from customers.models import Customer
from customers.models_service import (
    Contact,
    ContactDirection,
    ContactOutcome,
    ContactReason,
    Conversation,
    ConversationStatus,
    ServiceChannel,
)
from inventory.models import Location
from omni.exceptions import DomainError

SUBJECT_LENGTH = 200


class ConversationMismatch(DomainError):
    """The contact names a conversation of another customer."""

    code = "conversation_mismatch"
    status_code = 409
    default_detail = _("This conversation belongs to another customer.")


class ConversationClosed(DomainError):
    """The contact continues a conversation that was closed."""

    code = "conversation_closed"
    status_code = 409
    default_detail = _("This conversation is closed: start a new one.")


def _check_choices(**values: tuple[str, type[TextChoices]]) -> None:
    errors = {
        name: _("Choose one of the listed values.")
        for name, (value, choices) in values.items()
        if value not in choices.values
    }
    if errors:
        raise ValidationError(errors)


def contact_log(
    *,
    customer: Customer | None,
    channel: str,
    reason: str,
    outcome: str,
    notes: str,
    agent: User | None,
    conversation: Conversation | None = None,
    store: Location | None = None,
    direction: str = ContactDirection.INBOUND,
) -> Contact:
    """Record one contact; in `conversation`, or in a new one when None.

    Raises:
        ValidationError: no customer, no reason, or a value not among the choices.
        CustomerNotLive: the profile was merged or erased.
        ConversationMismatch: the conversation is another customer's.
        ConversationClosed: the conversation was closed.
    """
    if customer is None:
        raise ValidationError({"customer": _("Choose the customer the contact is about.")})
    if not reason:
        raise ValidationError({"reason": _("Say why the customer got in touch.")})
    _check_choices(
        channel=(channel, ServiceChannel),
        reason=(reason, ContactReason),
        outcome=(outcome, ContactOutcome),
        direction=(direction, ContactDirection),
    )
    if not customer.is_live:
        raise CustomerNotLive()
    with transaction.atomic():
        if conversation is None:
            conversation = Conversation.objects.create(
                customer=customer, reason=reason, subject=_subject(notes, reason)
            )
        else:
            conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if conversation.customer_id != customer.pk:
                raise ConversationMismatch()
            if conversation.status == ConversationStatus.CLOSED:
                raise ConversationClosed()
        return Contact.objects.create(
            conversation=conversation,
            customer=customer,
            channel=channel,
            direction=direction,
            reason=reason,
            outcome=outcome,
            notes=notes,
            agent=agent,
            store=store,
        )


def _subject(notes: str, reason: str) -> str:
    first_line = notes.strip().splitlines()[0] if notes.strip() else ""
    return (first_line or ContactReason(reason).label)[:SUBJECT_LENGTH]


def conversation_close(*, conversation: Conversation, performed_by: User | None) -> Conversation:
    """Close a conversation (the matter is settled); closing it again changes nothing."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.status == ConversationStatus.CLOSED:
            return conversation
        conversation.status = ConversationStatus.CLOSED
        conversation.closed_at = timezone.now()
        conversation.closed_by = performed_by
        conversation.save(update_fields=["status", "closed_at", "closed_by"])
        return conversation


def erase_contact_notes(*, customer: Customer, performed_by: User | None) -> None:
    """Blank what agents wrote about an erased customer; the counts for reports stay."""
    Contact.objects.filter(customer=customer).update(notes="")
    Conversation.objects.filter(customer=customer).update(subject="")
