"""Every operation that changes customer data: one transactional function each.

Split by subdomain; import them from here: `from customers import services`. The reads are in
`customers/selectors.py`, `customers/loyalty/` (balance, tier, rules) and
`customers/customer360/`; the merge and erasure hook registries in `customers/merge.py` and
`customers/erasure.py`.
"""

from customers.services.access import customer_access_record
from customers.services.consents import ConsentSource, consent_grant, consent_withdraw
from customers.services.contacts import (
    ConversationClosed,
    ConversationMismatch,
    contact_log,
    conversation_close,
    erase_contact_notes,
)
from customers.services.devices import (
    DeviceRegistration,
    device_disable,
    device_register,
    device_unregister,
    devices_disable_rejected,
    erase_devices,
    on_push_tokens_rejected,
)
from customers.services.loyalty import (
    loyalty_adjust,
    loyalty_earn,
    loyalty_reverse,
    loyalty_spend,
    loyalty_spend_return,
    loyalty_spend_reverse,
    merge_loyalty_accounts,
)
from customers.services.merging import customer_merge, merge_consent_states
from customers.services.privacy import customer_erase, customer_export, identity_digest
from customers.services.profiles import (
    UNSET,
    ProfileChanges,
    customer_resolve,
    customer_update,
    normalise_card,
    normalise_email,
)
from customers.services.satisfaction import (
    SurveyAlreadyAnswered,
    erase_survey_comments,
    survey_answer_record,
)

__all__ = [
    "UNSET",
    "ConsentSource",
    "ConversationClosed",
    "ConversationMismatch",
    "DeviceRegistration",
    "ProfileChanges",
    "SurveyAlreadyAnswered",
    "consent_grant",
    "consent_withdraw",
    "contact_log",
    "conversation_close",
    "customer_access_record",
    "customer_erase",
    "customer_export",
    "customer_merge",
    "customer_resolve",
    "customer_update",
    "device_disable",
    "device_register",
    "device_unregister",
    "devices_disable_rejected",
    "erase_contact_notes",
    "erase_devices",
    "erase_survey_comments",
    "identity_digest",
    "loyalty_adjust",
    "loyalty_earn",
    "loyalty_reverse",
    "loyalty_spend",
    "loyalty_spend_return",
    "loyalty_spend_reverse",
    "merge_consent_states",
    "merge_loyalty_accounts",
    "normalise_card",
    "normalise_email",
    "on_push_tokens_rejected",
    "survey_answer_record",
]
