"""Models of the campaigns app: segments, campaigns with their variants, messages and codes."""

from campaigns.models.segment import Segment

__all__ = ["Segment"]
