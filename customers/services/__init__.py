"""Every operation that changes customer data: one transactional function each.

Split by subdomain; import them from here: `from customers import services`.
"""

from customers.services.consents import ConsentSource, consent_grant, consent_withdraw
from customers.services.devices import (
    DeviceRegistration,
    device_disable,
    device_register,
    device_unregister,
    devices_disable_rejected,
)
from customers.services.merging import customer_merge
from customers.services.privacy import customer_erase, customer_export, identity_digest
from customers.services.profiles import (
    UNSET,
    ProfileChanges,
    customer_resolve,
    customer_update,
    normalise_card,
    normalise_email,
)

__all__ = [
    "UNSET",
    "ConsentSource",
    "DeviceRegistration",
    "ProfileChanges",
    "consent_grant",
    "consent_withdraw",
    "customer_erase",
    "customer_export",
    "customer_merge",
    "customer_resolve",
    "customer_update",
    "device_disable",
    "device_register",
    "device_unregister",
    "devices_disable_rejected",
    "identity_digest",
    "normalise_card",
    "normalise_email",
]
