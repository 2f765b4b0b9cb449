"""RFM (recency, frequency, monetary) scoring rules: one definition for the 360° view's key
figures (orders) and the campaigns' RFM segment conditions, which may read orders."""

from __future__ import annotations

from django.conf import settings

# Scores 5, 4, 3, 2 at these thresholds, 1 below the last; settings.OMNI_RFM_THRESHOLDS overrides.
DEFAULT_RFM_THRESHOLDS: dict[str, tuple] = {
    "recency_days": (30, 90, 180, 365),  # last order at most this many days ago
    "frequency_orders": (8, 4, 2, 1),  # orders in the last RFM_WINDOW_DAYS
    "monetary_total": (1000, 400, 150, 1),  # spent in the last RFM_WINDOW_DAYS
}
RFM_WINDOW_DAYS = 365


def rfm_thresholds() -> dict[str, tuple]:
    """The thresholds in force: the defaults, overridden by settings.OMNI_RFM_THRESHOLDS."""
    return {**DEFAULT_RFM_THRESHOLDS, **getattr(settings, "OMNI_RFM_THRESHOLDS", {})}
