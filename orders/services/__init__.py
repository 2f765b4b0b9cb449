"""Every operation that changes orders data: the cart, checkout, fulfilment, returns and
notifications, one transactional function each.

Split by subdomain; import them from here: `from orders import services` (or
`from orders.services import order_checkout`). The read side stays beside its screens and API
(`orders/cart/selectors.py`, `orders/checkout/selectors.py`, `orders/fulfilment/selectors.py`),
the fulfilment state table in `orders/fulfilment/machine.py`.
"""

from orders.services.cart import (
    MAX_LINE_QUANTITY,
    MergedLine,
    MergeReport,
    cart_add_line,
    cart_convert_open_of,
    cart_create_anonymous,
    cart_for_customer,
    cart_mark_converted,
    cart_record_open,
    cart_remove_line,
    cart_set_quantity,
)
from orders.services.cart_links import (
    TransientDeliveryError,
    cart_from_link,
    cart_link_deliver,
    cart_link_url,
    cart_send_link,
)
from orders.services.cart_merge import cart_merge, cart_merge_customers
from orders.services.checkout import order_checkout, vat_of
from orders.services.fulfilment import (
    fulfilment_cancel,
    fulfilment_transition,
    order_cancel,
    order_loyalty_reverse,
    order_refresh_status,
    pickup_collect,
    pickup_days,
    pickup_mark_ready,
    pickup_transfer_arrived,
    pickups_expire_overdue,
    pickups_send_reminders,
)
from orders.services.idempotency import (
    CheckoutAnswer,
    checkout_key,
    order_checkout_idempotent,
    request_fingerprint,
)
from orders.services.notifications import (
    NotificationRetry,
    notification_key,
    notification_new,
    notification_queue,
    notification_queued,
    notification_send,
    notification_sweep,
)
from orders.services.privacy import orders_erase_personal_data
from orders.services.returns import (
    ReturnableLine,
    orders_matching,
    return_create,
    returnable_lines,
)
from orders.services.shipments import (
    shipment_accept,
    shipment_deliver,
    shipment_reject,
    shipment_ship,
    shipment_start_picking,
)

__all__ = [
    "MAX_LINE_QUANTITY",
    "CheckoutAnswer",
    "MergeReport",
    "MergedLine",
    "NotificationRetry",
    "ReturnableLine",
    "TransientDeliveryError",
    "cart_add_line",
    "cart_convert_open_of",
    "cart_create_anonymous",
    "cart_for_customer",
    "cart_from_link",
    "cart_link_deliver",
    "cart_link_url",
    "cart_mark_converted",
    "cart_merge",
    "cart_merge_customers",
    "cart_record_open",
    "cart_remove_line",
    "cart_send_link",
    "cart_set_quantity",
    "checkout_key",
    "fulfilment_cancel",
    "fulfilment_transition",
    "notification_key",
    "notification_new",
    "notification_queue",
    "notification_queued",
    "notification_send",
    "notification_sweep",
    "order_cancel",
    "order_checkout",
    "order_checkout_idempotent",
    "order_loyalty_reverse",
    "order_refresh_status",
    "orders_erase_personal_data",
    "orders_matching",
    "pickup_collect",
    "pickup_days",
    "pickup_mark_ready",
    "pickup_transfer_arrived",
    "pickups_expire_overdue",
    "pickups_send_reminders",
    "request_fingerprint",
    "return_create",
    "returnable_lines",
    "shipment_accept",
    "shipment_deliver",
    "shipment_reject",
    "shipment_ship",
    "shipment_start_picking",
    "vat_of",
]
