"""A campaign message with its discount code, as delivery writes them (tests of redemption)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, DiscountCode
from tests.campaigns.factories import SentMessageFactory, make_campaign


def issued_code(
    customer,
    *,
    code: str | None = None,
    percent: str = "10",
    valid_days: float = 7,
    campaign: Campaign | None = None,
    channel: str = "sms",
) -> DiscountCode:
    """The code sent to `customer` with a campaign message (sent a minute ago)."""
    campaign = campaign or make_campaign(
        name=f"Soldes {uuid.uuid4().hex[:4]}",
        channels=(channel,),
        discount_percent=Decimal(percent),
    )
    sent_at = timezone.now() - dt.timedelta(minutes=1)
    message = SentMessageFactory(campaign=campaign, customer=customer, channel=channel, at=sent_at)
    return DiscountCode.objects.create(
        code=code or f"OM{uuid.uuid4().hex[:10].upper()}",
        campaign=campaign,
        message=message,
        customer=customer,
        percent=Decimal(percent),
        valid_until=sent_at + dt.timedelta(days=valid_days),
    )
