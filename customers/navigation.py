"""The customers screens listed on the staff area pages (see omni/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from omni import roles
from omni.navigation import ScreenLink

SCREENS: list[ScreenLink] = [
    ScreenLink("store-home", _("Find a customer"), "customers:search", roles.STORE_SCREENS),
    ScreenLink("service-home", _("Find a customer"), "customers:search", roles.SERVICE_SCREENS),
    ScreenLink(
        "service-home",
        _("Contacts by reason and channel"),
        "customers:contact-report",
        roles.SERVICE_SCREENS,
    ),
]
