"""Satisfaction answers: the one answer to a post-purchase survey link, and its comment blanked
when the customer is erased. The links, their tokens and CSAT are read in
`customers/satisfaction.py`.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.models_service import SurveyAnswer
from customers.satisfaction import SurveyLink
from inventory.models import Location
from omni.exceptions import DomainError


class SurveyAlreadyAnswered(DomainError):
    """The order's survey has its one answer already."""

    code = "survey_already_answered"
    status_code = 409
    default_detail = _("This survey was already answered. Thank you!")


def _current_profile(customer_id: int) -> Customer | None:
    """The live profile the link's customer became (merged profiles point at the winner)."""
    customer = Customer.objects.filter(pk=customer_id).first()
    while customer is not None and customer.merged_into_id is not None:
        customer = customer.merged_into
    return customer if customer is not None and customer.is_live else None


def survey_answer_record(
    *,
    link: SurveyLink,
    score: int,
    comment: str = "",
    performed_by: User | None = None,
) -> SurveyAnswer:
    """Record the answer to one survey link.

    Raises:
        SurveyAlreadyAnswered: the order's survey was answered before; nothing is written.
        ValidationError: a score outside 1 to 5, or the customer no longer exists (erased).
    """
    if not 1 <= score <= 5:
        raise ValidationError({"score": _("Choose a score from 1 to 5.")})
    customer = _current_profile(link.customer_id)
    if customer is None:
        raise ValidationError(_("This survey is no longer available."))
    store = Location.objects.filter(pk=link.store_id).first() if link.store_id else None
    try:
        with transaction.atomic():
            return SurveyAnswer.objects.create(
                customer=customer,
                order_number=link.order_number,
                store=store,
                channel=link.channel,
                score=score,
                comment=comment.strip(),
            )
    except IntegrityError as exc:  # the unique constraint: answered meanwhile, or before
        raise SurveyAlreadyAnswered() from exc


def erase_survey_comments(*, customer: Customer, performed_by: User | None) -> None:
    """Blank the free-text comments of an erased customer; scores stay for CSAT."""
    SurveyAnswer.objects.filter(customer=customer).update(comment="")
