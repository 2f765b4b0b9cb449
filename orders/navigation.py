"""The orders screens listed on the staff area pages (see omni/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from omni import roles
from omni.navigation import ScreenLink

# The customer's cart (orders:customer-cart) opens from a customer's page, never on its own.
SCREENS: list[ScreenLink] = [
    ScreenLink("store-home", _("Pickups and parcels"), "orders:pickup-queue", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Till"), "orders:till", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Returns desk"), "orders:returns-desk", roles.STORE_SCREENS),
    ScreenLink("dashboard-home", _("Management dashboard"), "orders:dashboard", roles.DASHBOARD),
]
