from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from inventory.navigation import SCREENS
        from omni.navigation import register_screens

        register_screens(self.label, SCREENS)  # its screens on the staff area pages
