"""Order notifications: a row written with the change it reports, sent once by a Celery task.

`notification_queue` is called by the checkout and the fulfilment lifecycles inside their own
transaction; `orders.send_notification` (after commit) sends it through `omni.messaging` on the
channel the customer prefers among those she can be reached on; `orders.sweep_notifications`
(beat, every minute) picks up rows a lost message or a dead worker left behind.
"""

from orders.notifications.services import (
    NotificationRetry,
    notification_key,
    notification_queue,
    notification_send,
    notification_sweep,
)

__all__ = [
    "NotificationRetry",
    "notification_key",
    "notification_queue",
    "notification_send",
    "notification_sweep",
]
