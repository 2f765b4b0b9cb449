"""Every operation that changes campaigns data: one transactional function each.

Split by subdomain; import them from here: `from campaigns import services`. The reads are in
`campaigns/selectors.py`, `campaigns/results.py`, `campaigns/automations/` (triggers,
selectors) and `campaigns/tracking.py` (the signed links); `preview` renders without writing.
"""

from campaigns.services.attribution import order_attribute, orders_attribute_new
from campaigns.services.automations import (
    AutomationSpec,
    StepSpec,
    StepsResult,
    automation_create,
    automation_steps_run,
    automation_sync,
    automation_validate,
    automations_enrol,
    step_errors,
)
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
from campaigns.services.discounts import CampaignCodes, campaign_codes
from campaigns.services.segments import segment_create, segment_update
from campaigns.services.tracking import (
    UnknownMessage,
    UnknownReport,
    message_click,
    message_delivery_report,
    message_open,
    message_unsubscribe,
)
from campaigns.services.winner import (
    WinnerResult,
    campaign_choose_winner,
    campaigns_awaiting_winner,
)

__all__ = [
    "BATCH_SIZE",
    "AutomationSpec",
    "BatchResult",
    "CampaignCodes",
    "CampaignSpec",
    "ChannelContent",
    "LaunchResult",
    "Schedule",
    "StepSpec",
    "StepsResult",
    "UnknownMessage",
    "UnknownReport",
    "VariantSpec",
    "WinnerResult",
    "automation_create",
    "automation_steps_run",
    "automation_sync",
    "automation_validate",
    "automations_enrol",
    "campaign_cancel",
    "campaign_choose_winner",
    "campaign_codes",
    "campaign_create",
    "campaign_finish_if_done",
    "campaign_launch",
    "campaign_schedule",
    "campaign_validate",
    "campaigns_awaiting_winner",
    "message_click",
    "message_delivery_report",
    "message_open",
    "message_unsubscribe",
    "messages_requeue_stale",
    "messages_send_batch",
    "order_attribute",
    "orders_attribute_new",
    "segment_create",
    "segment_update",
    "step_errors",
]
