"""Reads over loyalty: a customer's balance, tier and recent movements."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from customers.loyalty.rules import tier_for
from customers.models import Customer
from customers.models_loyalty import (
    LoyaltyAccount,
    LoyaltyMovement,
    LoyaltyMovementKind,
    LoyaltyTier,
)

TIER_WINDOW = timedelta(days=365)
RECENT_MOVEMENTS = 20


class LoyaltySummary(NamedTuple):
    balance: int
    tier: LoyaltyTier
    spend_12_months: Decimal  # purchases less returns over the last 365 days
    next_tier: LoyaltyTier | None
    points_to_next_tier: int  # points the spend still needed would earn
    spend_to_next_tier: Decimal


def loyalty_summary(*, customer: Customer) -> LoyaltySummary:
    """Balance and tier of a customer, in one query (none when she has no account yet)."""
    since = timezone.now() - TIER_WINDOW
    spent = Q(
        movements__kind__in=[LoyaltyMovementKind.EARN, LoyaltyMovementKind.REVERSE_EARN],
        movements__created_at__gte=since,
    )
    row = (
        LoyaltyAccount.objects.filter(customer_id=customer.pk)
        .annotate(spend=Sum("movements__amount", filter=spent, default=Decimal("0.00")))
        .values("balance", "spend")
        .first()
    ) or {"balance": 0, "spend": Decimal("0.00")}
    spend = max(row["spend"], Decimal("0.00"))
    position = tier_for(spend)
    return LoyaltySummary(
        balance=row["balance"],
        tier=position.tier,
        spend_12_months=spend,
        next_tier=position.next_tier,
        points_to_next_tier=position.points_to_next_tier,
        spend_to_next_tier=position.spend_to_next_tier,
    )


def loyalty_movements(*, customer: Customer) -> QuerySet[LoyaltyMovement]:
    """A customer's movements, newest first, with who made them."""
    return LoyaltyMovement.objects.filter(account__customer_id=customer.pk).select_related(
        "performed_by"
    )
