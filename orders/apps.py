from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders and carts")

    def ready(self) -> None:
        from customers.erasure import register_erase_hook
        from customers.merge import register_merge_hook
        from omni.navigation import register_screens
        from orders.customer360 import register_customer360
        from orders.navigation import SCREENS
        from orders.services import cart_merge_customers, orders_erase_personal_data

        # Two profiles merged: their open carts become one before the loser's rows move over,
        # so the one-open-cart-per-customer constraint holds.
        register_merge_hook(cart_merge_customers)
        # An erased customer's orders stay for accounting, without her delivery addresses.
        register_erase_hook(orders_erase_personal_data)
        register_customer360()  # panels and timeline entries of the 360° customer view
        register_screens(self.label, SCREENS)  # its screens on the staff area pages
