"""The marketers' screens: segments and campaigns (the results pages are in campaigns/views.py)."""

from campaigns.views_marketing.campaigns import (
    CampaignCancelView,
    CampaignCreateView,
    CampaignDetailView,
    CampaignLaunchView,
    CampaignListView,
    CampaignPreviewView,
    CampaignProgressView,
    CampaignTestSendView,
)
from campaigns.views_marketing.segments import (
    SegmentCountView,
    SegmentEditView,
    SegmentListView,
)

__all__ = [
    "CampaignCancelView",
    "CampaignCreateView",
    "CampaignDetailView",
    "CampaignLaunchView",
    "CampaignListView",
    "CampaignPreviewView",
    "CampaignProgressView",
    "CampaignTestSendView",
    "SegmentCountView",
    "SegmentEditView",
    "SegmentListView",
]
