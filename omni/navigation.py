"""The staff screens' navigation: each entry names the permission that shows it.

Apps add their screens here so that each role sees exactly the areas it may open. The project
package imports no app (docs/architecture.md): each app registers its screens, declared in
<app>/navigation.py, from its AppConfig.ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from omni import roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None  # None: any signed-in staff user


NAVIGATION: tuple[NavItem, ...] = (
    NavItem(_("Home"), "home", None),
    NavItem(_("Store"), "store-home", roles.STORE_SCREENS),
    NavItem(_("Customer service"), "service-home", roles.SERVICE_SCREENS),
    NavItem(_("Marketing"), "marketing-home", roles.MARKETING_SCREENS),
    NavItem(_("Dashboard"), "dashboard-home", roles.DASHBOARD),
)


@dataclass(frozen=True)
class ScreenLink:
    """A screen listed on its area's landing page; apps declare theirs in <app>/navigation.py."""

    area: str  # url name of the area: "store-home", "service-home", ...
    label: str
    url_name: str
    permission: str | None = None


# app label -> its screens, in the order the apps registered (INSTALLED_APPS' order).
_SCREENS: dict[str, tuple[ScreenLink, ...]] = {}


def register_screens(app: str, screens: Iterable[ScreenLink]) -> None:
    """List an app's screens on the area pages; registering the same app again replaces them."""
    _SCREENS[app] = tuple(screens)


def screens_for(user, area: str) -> list[ScreenLink]:
    """Return the screens of an area this user may open, in the apps' order."""
    return [
        link
        for screens in _SCREENS.values()
        for link in screens
        if link.area == area and (link.permission is None or user.has_perm(link.permission))
    ]


def items_for(user) -> list[NavItem]:
    """Return the navigation entries this user may open."""
    if not user.is_authenticated:
        return []
    return [
        item for item in NAVIGATION if item.permission is None or user.has_perm(item.permission)
    ]
