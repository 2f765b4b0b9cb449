"""The one loyalty rule set, read from settings: points per euro, a point's value, tiers."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

from django.conf import settings

from customers.models_loyalty import LoyaltyTier

CENT = Decimal("0.01")


class LoyaltyRules(NamedTuple):
    points_per_euro: Decimal
    point_value: Decimal  # euros a point is worth when spent
    tiers: tuple[tuple[LoyaltyTier, Decimal], ...]  # (tier, 12-month spend from), ascending


def loyalty_rules() -> LoyaltyRules:
    """The rules as configured now (settings are read on each call: tests override them)."""
    thresholds = getattr(settings, "OMNI_LOYALTY_TIERS", {"bronze": "0"})
    tiers = sorted(
        ((LoyaltyTier(name), Decimal(str(spend))) for name, spend in thresholds.items()),
        key=lambda pair: pair[1],
    )
    return LoyaltyRules(
        points_per_euro=Decimal(str(getattr(settings, "OMNI_LOYALTY_POINTS_PER_EURO", "1"))),
        point_value=Decimal(str(getattr(settings, "OMNI_LOYALTY_POINT_VALUE", "0.05"))),
        tiers=tuple(tiers),
    )


def points_for(amount: Decimal) -> int:
    """Points a purchase of `amount` euros earns: whole points, rounded down."""
    points = (amount * loyalty_rules().points_per_euro).to_integral_value(rounding=ROUND_DOWN)
    return max(int(points), 0)


def loyalty_points_value(points: int) -> Decimal:
    """What `points` are worth in euros when spent."""
    return (Decimal(points) * loyalty_rules().point_value).quantize(CENT)


class TierPosition(NamedTuple):
    tier: LoyaltyTier
    next_tier: LoyaltyTier | None
    spend_to_next_tier: Decimal  # euros still to spend; 0 at the top tier
    points_to_next_tier: int  # points that spending earns (rounded up)


def tier_for(spend: Decimal) -> TierPosition:
    """Where a 12-month spend puts a customer among the tiers."""
    rules = loyalty_rules()
    reached = [tier for tier, threshold in rules.tiers if spend >= threshold]
    tier = reached[-1] if reached else rules.tiers[0][0]
    above = [(tier, threshold) for tier, threshold in rules.tiers if spend < threshold]
    if not above:
        return TierPosition(tier, None, Decimal("0.00"), 0)
    next_tier, threshold = above[0]
    missing = (threshold - spend).quantize(CENT)
    return TierPosition(tier, next_tier, missing, math.ceil(missing * rules.points_per_euro))
