"""Models of the campaigns app: segments, campaigns with their variants, messages and codes."""

from campaigns.models.audience import AudienceMember
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
from campaigns.models.tracking import (
    TOUCH_KINDS,
    Attribution,
    AttributionWatermark,
    TouchKind,
    TrackingEvent,
    TrackingKind,
)

__all__ = [
    "CAPPED_STATUSES",
    "DONE_STATUSES",
    "TOUCH_KINDS",
    "Attribution",
    "AttributionWatermark",
    "AudienceMember",
    "Automation",
    "AutomationStep",
    "Campaign",
    "CampaignAction",
    "CampaignEvent",
    "CampaignStatus",
    "CampaignVariant",
    "ChannelMode",
    "DiscountCode",
    "Enrolment",
    "EnrolmentStatus",
    "Message",
    "MessageStatus",
    "ScheduleKind",
    "Segment",
    "StepChannel",
    "TouchKind",
    "TrackingEvent",
    "TrackingKind",
    "TriggerKind",
    "VariantContent",
]
