"""The inventory screens listed on the staff area pages (see omni/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from omni import roles
from omni.navigation import ScreenLink

SCREENS: list[ScreenLink] = [
    ScreenLink("store-home", _("Stock lookup"), "inventory:stock-lookup", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Low stock"), "inventory:low-stock", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Transfers"), "inventory:transfers", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Shortages"), "inventory:shortages", roles.STORE_SCREENS),
    ScreenLink("store-home", _("Receive stock"), "inventory:stock-receive", roles.STORE_MANAGEMENT),
    ScreenLink("store-home", _("Adjust stock"), "inventory:stock-adjust", roles.STORE_MANAGEMENT),
    ScreenLink("store-home", _("Count stock"), "inventory:stock-count", roles.STORE_MANAGEMENT),
    ScreenLink(
        "store-home", _("Send a transfer"), "inventory:transfer-ship", roles.STORE_MANAGEMENT
    ),
]
