"""Staff roles: each is a Group whose permissions are declared here, the one source of truth.

The groups are created by a data migration (omni/migrations/0001_roles.py); `sync_roles` gives
each its permissions after every `migrate` (permissions only exist once their app has migrated).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Role:
    name: str  # the Group's name, stable: code and data refer to it
    label: str
    permissions: tuple[str, ...]  # "app_label.codename"


STORE_SCREENS = "omni.use_store_screens"
STORE_MANAGEMENT = "omni.manage_store"
SERVICE_SCREENS = "omni.use_service_screens"
MARKETING_SCREENS = "omni.use_marketing_screens"
DASHBOARD = "omni.view_dashboard"

STORE_STAFF = Role("store_staff", _("Store staff"), (STORE_SCREENS,))
STORE_MANAGER = Role(
    "store_manager", _("Store manager"), (STORE_SCREENS, STORE_MANAGEMENT, DASHBOARD)
)
# Service agents work in the admin too: they read customers, carts and orders there, merge
# duplicate profiles and adjust loyalty points (with a reason, ledgered).
SERVICE_AGENT = Role(
    "service_agent",
    _("Service agent"),
    (
        SERVICE_SCREENS,
        "customers.view_customer",
        "customers.merge_customer",
        "customers.adjust_loyalty_points",
        "orders.view_cart",
        "orders.view_order",
    ),
)
MARKETER = Role("marketer", _("Marketer"), (MARKETING_SCREENS, DASHBOARD))
ADMINISTRATOR = Role(
    "administrator",
    _("Administrator"),
    (
        STORE_SCREENS,
        STORE_MANAGEMENT,
        SERVICE_SCREENS,
        MARKETING_SCREENS,
        DASHBOARD,
        "customers.view_customer",
        "customers.merge_customer",
        "customers.export_customer",
        "customers.erase_customer",
        "customers.adjust_loyalty_points",
        "orders.view_cart",
        "orders.view_order",
    ),
)

# The web shop's and the app's back-end service account: API only, no staff screen but the home.
# It may exchange a shopper it signed in for a customer token (customers/auth.py).
ECOMMERCE_SITE = Role("ecommerce_site", _("E-commerce site"), ("customers.issue_customer_token",))

ROLES: tuple[Role, ...] = (
    STORE_STAFF,
    STORE_MANAGER,
    SERVICE_AGENT,
    MARKETER,
    ADMINISTRATOR,
    ECOMMERCE_SITE,
)


def role_by_name(name: str) -> Role:
    """Return the role called `name`; KeyError if there is none."""
    for role in ROLES:
        if role.name == name:
            return role
    raise KeyError(name)


def sync_roles(*, using: str = "default") -> None:
    """Create the groups if missing and set each one's permissions to exactly those declared."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for role in ROLES:
        group, _created = Group.objects.using(using).get_or_create(name=role.name)
        wanted = Q(pk__in=[])
        for dotted in role.permissions:
            app_label, codename = dotted.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.using(using).filter(wanted))
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        missing = set(role.permissions) - found
        if missing:
            raise LookupError(f"role {role.name}: unknown permissions {sorted(missing)}")
        group.permissions.set(permissions)
