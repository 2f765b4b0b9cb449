"""The role-by-screen matrix: allowed gets 200, forbidden 403, anonymous goes to the login."""

import pytest
from django.urls import reverse

from omni import roles

pytestmark = pytest.mark.django_db

SCREENS = ["home", "store-home", "service-home", "marketing-home", "dashboard-home"]
ALLOWED = {
    roles.STORE_STAFF: {"home", "store-home"},
    roles.STORE_MANAGER: {"home", "store-home", "dashboard-home"},
    roles.SERVICE_AGENT: {"home", "service-home"},
    roles.MARKETER: {"home", "marketing-home", "dashboard-home"},
    roles.ADMINISTRATOR: set(SCREENS),
    roles.ECOMMERCE_SITE: {"home"},  # an API account: its token opens no staff area
}


@pytest.mark.parametrize("role", roles.ROLES, ids=lambda role: role.name)
def test_each_role_opens_exactly_its_screens(client, make_staff, role):
    client.force_login(make_staff(role))

    statuses = {screen: client.get(reverse(screen)).status_code for screen in SCREENS}

    assert statuses == {s: 200 if s in ALLOWED[role] else 403 for s in SCREENS}


# Screens inside the areas, by the permission that opens them: marketers build segments and
# campaigns but never reach stock or orders; store staff never reach the marketing screens.
AREA_SCREENS = {
    "inventory:stock-lookup": roles.STORE_SCREENS,
    "orders:pickup-queue": roles.STORE_SCREENS,
    "orders:returns-desk": roles.STORE_SCREENS,
    "orders:till": roles.STORE_SCREENS,
    "campaigns:segment-list": roles.MARKETING_SCREENS,
    "campaigns:segment-create": roles.MARKETING_SCREENS,
    "campaigns:campaign-list": roles.MARKETING_SCREENS,
    "campaigns:campaign-create": roles.MARKETING_SCREENS,
    "campaigns:results": roles.MARKETING_SCREENS,
}


@pytest.mark.parametrize("role", roles.ROLES, ids=lambda role: role.name)
def test_each_role_opens_exactly_the_screens_inside_its_areas(client, make_staff, role):
    from tests.inventory.factories import StoreFactory

    client.force_login(make_staff(role, stores=[StoreFactory()]))

    statuses = {screen: client.get(reverse(screen)).status_code for screen in AREA_SCREENS}

    assert statuses == {
        screen: 200 if permission in role.permissions else 403
        for screen, permission in AREA_SCREENS.items()
    }


@pytest.mark.parametrize("screen", SCREENS)
def test_anonymous_users_are_sent_to_the_login_page(client, screen):
    response = client.get(reverse(screen))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", roles.ROLES, ids=lambda role: role.name)
def test_each_role_sees_its_own_navigation(client, make_staff, role):
    client.force_login(make_staff(role))

    response = client.get(reverse("home"))

    shown = {item.url_name for item in response.context["navigation"]}
    assert shown == ALLOWED[role]
    for screen in SCREENS:
        assert (f'href="{reverse(screen)}"' in response.content.decode()) == (screen in shown)


def test_the_login_page_signs_a_user_in_and_the_language_can_be_switched(client, make_staff):
    user = make_staff(roles.STORE_STAFF, username="lea")

    response = client.post(
        reverse("login"), {"username": "lea", "password": "pass-Word-1"}, follow=True
    )
    assert response.context["user"] == user

    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="fr">' in page
    assert "Magasin" in page


def test_groups_carry_the_permissions_declared_in_code():
    from django.contrib.auth.models import Group

    for role in roles.ROLES:
        group = Group.objects.get(name=role.name)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(role.permissions)
