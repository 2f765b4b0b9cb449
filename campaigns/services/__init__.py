"""Every operation that changes campaigns data: one transactional function each.

Split by subdomain; import them from here: `from campaigns import services`.
"""

from campaigns.services.campaigns import (
    CampaignSpec,
    ChannelContent,
    Schedule,
    VariantSpec,
    campaign_cancel,
    campaign_create,
    campaign_schedule,
    campaign_validate,
)
from campaigns.services.delivery import (
    BATCH_SIZE,
    BatchResult,
    LaunchResult,
    campaign_finish_if_done,
    campaign_launch,
    messages_requeue_stale,
    messages_send_batch,
)
from campaigns.services.segments import segment_create, segment_update

__all__ = [
    "BATCH_SIZE",
    "BatchResult",
    "CampaignSpec",
    "ChannelContent",
    "LaunchResult",
    "Schedule",
    "VariantSpec",
    "campaign_cancel",
    "campaign_create",
    "campaign_finish_if_done",
    "campaign_launch",
    "campaign_schedule",
    "campaign_validate",
    "messages_requeue_stale",
    "messages_send_batch",
    "segment_create",
    "segment_update",
]
