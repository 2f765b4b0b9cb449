"""Order notifications: a row written with the change it reports, sent once by a Celery task.

`notification_queue` (`orders/services/notifications.py`) is called by the checkout and the
fulfilment lifecycles inside their own transaction; `orders.send_notification` (after commit)
sends it through `omni.messaging` on the channel the customer prefers among those she can be
reached on; `orders.sweep_notifications` (beat, every minute) picks up rows a lost message or a
dead worker left behind. `content` renders the messages, `tasks` holds the two tasks.
"""
