"""Models of the campaigns app: segments, campaigns with their variants, messages and codes."""

from campaigns.models.automation import (
    Automation,
    AutomationStep,
    Enrolment,
    EnrolmentStatus,
    StepChannel,
    TriggerKind,
)
from campaigns.models.campaign import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    CampaignVariant,
    ChannelMode,
    ScheduleKind,
    VariantContent,
)
from campaigns.models.message import (
    CAPPED_STATUSES,
    DONE_STATUSES,
    DiscountCode,
    Message,
    MessageStatus,
)
from campaigns.models.segment import Segment

__all__ = [
    "Automation",
    "AutomationStep",
    "Enrolment",
    "EnrolmentStatus",
    "StepChannel",
    "TriggerKind",
    "CAPPED_STATUSES",
    "DONE_STATUSES",
    "Campaign",
    "CampaignAction",
    "CampaignEvent",
    "CampaignStatus",
    "CampaignVariant",
    "ChannelMode",
    "DiscountCode",
    "Message",
    "MessageStatus",
    "ScheduleKind",
    "Segment",
    "VariantContent",
]
