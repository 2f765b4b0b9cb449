"""The campaigns screens listed on the staff area pages (see omni/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from omni import roles
from omni.navigation import ScreenLink

SCREENS: list[ScreenLink] = [
    ScreenLink("marketing-home", _("Segments"), "campaigns:segment-list", roles.MARKETING_SCREENS),
    ScreenLink(
        "marketing-home", _("Campaigns"), "campaigns:campaign-list", roles.MARKETING_SCREENS
    ),
    ScreenLink(
        "marketing-home", _("Campaign results"), "campaigns:results", roles.MARKETING_SCREENS
    ),
]
