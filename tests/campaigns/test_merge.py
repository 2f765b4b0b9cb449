"""A merged customer's campaign history follows her: messages, tracking, codes, attribution."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.models import DiscountCode, Message, TrackingEvent
from customers.services import customer_merge
from tests.campaigns.discount_helpers import issued_code
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_merging_moves_the_losers_messages_tracking_and_codes_to_the_winner():
    winner, loser = CustomerFactory(), CustomerFactory()
    code = issued_code(loser)
    message = code.message
    TrackingEvent.objects.create(
        message=message,
        customer=loser,
        campaign=message.campaign,
        channel=message.channel,
        kind="click",
        at=timezone.now(),
    )

    customer_merge(winner=winner, loser=loser, performed_by=None, reason="same person")

    assert Message.objects.get(pk=message.pk).customer_id == winner.pk
    assert DiscountCode.objects.get(pk=code.pk).customer_id == winner.pk
    assert TrackingEvent.objects.get(message=message).customer_id == winner.pk
    assert not Message.objects.filter(customer=loser).exists()
