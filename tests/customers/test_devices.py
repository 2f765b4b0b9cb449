"""The device register: register, re-register (the token moves), unregister, disable on a
provider's report; the /me/devices/ API; who is reachable on push."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers import selectors, services
from customers.auth import customer_token
from customers.exceptions import CustomerNotLive, DeviceNotFound
from customers.models import (
    Channel,
    ContactChannel,
    Customer,
    Device,
    DeviceDisabledReason,
    DevicePlatform,
)
from customers.selectors import MessagePurpose
from omni import roles
from omni.messaging import push_tokens_rejected
from tests.concurrency import race
from tests.customers.factories import CustomerFactory, DeviceFactory

pytestmark = pytest.mark.django_db

APP = services.ConsentSource(channel=Channel.APP)
TOKEN = "dGhpcyBpcyBhIHRva2Vu:APA91bH-x_y.z+/="


def client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Customer {customer_token(customer=customer)}")
    return client


# --- services ----------------------------------------------------------------------------------


def test_register_creates_an_active_device():
    lea = CustomerFactory()

    registration = services.device_register(
        customer=lea, platform=DevicePlatform.IOS, token=TOKEN, app_version="4.2.0"
    )

    assert registration.created is True
    device = Device.objects.get()
    assert (device.customer, device.platform, device.token, device.app_version) == (
        lea,
        "ios",
        TOKEN,
        "4.2.0",
    )
    assert (device.active, device.disabled_at, device.disabled_reason) == (True, None, "")


def test_registering_again_reactivates_and_moves_the_token_to_the_new_owner():
    lea, ines = CustomerFactory(), CustomerFactory()
    first = services.device_register(customer=lea, platform="android", token=TOKEN).device
    services.device_unregister(token=TOKEN)

    again = services.device_register(
        customer=ines, platform="android", token=TOKEN, app_version="4.3.0"
    )

    assert again.created is False
    assert Device.objects.count() == 1
    device = Device.objects.get()
    assert device.pk == first.pk
    assert (device.customer, device.app_version, device.active) == (ines, "4.3.0", True)
    assert (device.disabled_at, device.disabled_reason) == (None, "")
    assert device.last_seen_at > first.last_seen_at


@pytest.mark.parametrize(
    ("platform", "token", "field"),
    [
        ("blackberry", TOKEN, "platform"),
        ("ios", "", "token"),
        ("ios", "x" * 513, "token"),
        ("ios", "two,tokens", "token"),
        ("ios", "with space", "token"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(platform, token, field):
    with pytest.raises(ValidationError) as error:
        services.device_register(customer=CustomerFactory(), platform=platform, token=token)

    assert list(error.value.message_dict) == [field]
    assert not Device.objects.exists()


def test_a_merged_profile_registers_nothing():
    winner = CustomerFactory()
    loser = CustomerFactory(merged_into=winner)

    with pytest.raises(CustomerNotLive):
        services.device_register(customer=loser, platform="ios", token=TOKEN)

    assert not Device.objects.exists()


def test_unregister_disables_her_device_and_refuses_another_customers_token():
    lea, ines = CustomerFactory(), CustomerFactory()
    DeviceFactory(customer=lea, token=TOKEN)

    with pytest.raises(DeviceNotFound):
        services.device_unregister(token=TOKEN, customer=ines)
    assert Device.objects.get().active is True

    device = services.device_unregister(token=TOKEN, customer=lea)
    services.device_unregister(token=TOKEN, customer=lea)  # again: nothing more changes

    device.refresh_from_db()
    assert (device.active, device.disabled_reason) == (False, DeviceDisabledReason.UNREGISTERED)
    assert device.disabled_at is not None


def test_disable_on_a_provider_report_keeps_the_first_reason_and_ignores_unknown_tokens():
    device = DeviceFactory(token=TOKEN)

    assert services.device_disable(token="never-registered") is None
    services.device_disable(token=TOKEN)
    services.device_disable(token=TOKEN, reason=DeviceDisabledReason.UNREGISTERED)

    device.refresh_from_db()
    assert (device.active, device.disabled_reason) == (
        False,
        DeviceDisabledReason.PROVIDER_REJECTED,
    )


def test_the_messaging_signal_disables_the_rejected_tokens_only():
    rejected, kept = DeviceFactory(), DeviceFactory()

    push_tokens_rejected.send(sender=None, tokens=[rejected.token], idempotency_key="k")

    rejected.refresh_from_db()
    kept.refresh_from_db()
    assert (rejected.active, rejected.disabled_reason) == (False, "provider_rejected")
    assert kept.active is True


def test_erasure_deletes_her_devices_and_a_merge_moves_them(django_user_model):
    erased, loser, winner = CustomerFactory(), CustomerFactory(), CustomerFactory()
    DeviceFactory(customer=erased)
    moved = DeviceFactory(customer=loser)
    admin = django_user_model.objects.create_superuser("root", "root@example.fr", "pw")

    services.customer_erase(customer=erased, performed_by=admin, reason="GDPR request")
    services.customer_merge(winner=winner, loser=loser, performed_by=admin)

    assert list(Device.objects.all()) == [moved]
    moved.refresh_from_db()
    assert moved.customer == winner


@pytest.mark.django_db(transaction=True)
def test_two_first_registrations_of_one_token_make_one_row():
    lea, ines = CustomerFactory(), CustomerFactory()

    results = race(
        lambda: services.device_register(customer=lea, platform="ios", token=TOKEN),
        lambda: services.device_register(customer=ines, platform="ios", token=TOKEN),
    )

    assert not [result for result in results if isinstance(result, Exception)]
    assert sorted(result.created for result in results) == [False, True]
    assert Device.objects.count() == 1


# --- reachability ------------------------------------------------------------------------------


def test_push_needs_the_consent_and_an_active_device():
    consented_no_device = CustomerFactory()
    consented_with_device = CustomerFactory()
    device_no_consent = CustomerFactory()
    consented_device_disabled = CustomerFactory()
    for customer in (consented_no_device, consented_with_device, consented_device_disabled):
        services.consent_grant(customer=customer, channel=ContactChannel.PUSH, source=APP)
    DeviceFactory(customer=consented_with_device)
    DeviceFactory(customer=device_no_consent)
    services.device_disable(token=DeviceFactory(customer=consented_device_disabled).token)
    everyone = Customer.objects.all()

    reachable = selectors.marketing_reachable(everyone, channel=ContactChannel.PUSH)

    assert list(reachable) == [consented_with_device]
    for customer in (consented_no_device, device_no_consent, consented_device_disabled):
        for purpose in MessagePurpose:
            assert "push" not in selectors.reachable_channels(customer=customer, purpose=purpose)
    for purpose in MessagePurpose:
        channels = selectors.reachable_channels(customer=consented_with_device, purpose=purpose)
        assert "push" in channels


def test_push_tokens_reads_active_devices_in_one_query(django_assert_num_queries):
    lea, ines, nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    now = timezone.now()
    phone = DeviceFactory(customer=lea, last_seen_at=now - dt.timedelta(days=2))
    tablet = DeviceFactory(customer=lea, last_seen_at=now)
    services.device_unregister(token=DeviceFactory(customer=ines).token)

    with django_assert_num_queries(1):
        tokens = selectors.push_tokens(customer_ids=[lea.pk, ines.pk, nobody.pk])

    assert tokens == {lea.pk: [tablet.token, phone.token]}  # the latest seen first


# --- API ---------------------------------------------------------------------------------------


def test_the_app_registers_then_registers_again():
    lea = CustomerFactory()
    client = client_for(lea)
    body = {"platform": "ios", "token": TOKEN, "app_version": "4.2.0"}

    created = client.post(reverse("v1:me-devices"), body, format="json")
    again = client.post(reverse("v1:me-devices"), body, format="json")

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["token"] == TOKEN
    assert created.json()["platform"] == "ios"
    assert Device.objects.get().customer == lea


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"platform": "symbian", "token": TOKEN}, {"platform"}),
        ({"platform": "ios", "token": ""}, {"token"}),
        ({"platform": "ios", "token": "a" * 513}, {"token"}),
        ({"platform": "ios", "token": "a,b"}, {"token"}),
        ({"token": TOKEN}, {"platform"}),
        ({}, {"platform", "token"}),
    ],
)
def test_bad_device_input_gets_field_errors_and_writes_nothing(body, fields):
    response = client_for(CustomerFactory()).post(reverse("v1:me-devices"), body, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields
    assert not Device.objects.exists()


def test_she_lists_only_her_active_devices(django_assert_max_num_queries):
    lea = CustomerFactory()
    mine = [DeviceFactory(customer=lea) for _ in range(5)]
    services.device_unregister(token=mine[0].token)
    DeviceFactory()  # someone else's
    client = client_for(lea)

    with django_assert_max_num_queries(3):
        response = client.get(reverse("v1:me-devices"))

    assert response.status_code == 200
    assert {item["token"] for item in response.json()} == {d.token for d in mine[1:]}


def test_she_unregisters_her_device_but_not_another_customers():
    lea, ines = CustomerFactory(), CustomerFactory()
    hers = DeviceFactory(customer=lea, token=TOKEN)  # a token with '/' in it
    theirs = DeviceFactory(customer=ines)
    client = client_for(lea)

    other = client.delete(reverse("v1:me-device", args=[theirs.token]))
    unknown = client.delete(reverse("v1:me-device", args=["no-such-token"]))
    own = client.delete(reverse("v1:me-device", args=[hers.token]))

    assert (other.status_code, unknown.status_code, own.status_code) == (404, 404, 204)
    assert other.json()["code"] == "device_not_found"
    hers.refresh_from_db()
    theirs.refresh_from_db()
    assert (hers.active, theirs.active) == (False, True)


def test_devices_need_a_customer_token(client):
    assert client.get(reverse("v1:me-devices")).status_code in (401, 403)


# --- admin -------------------------------------------------------------------------------------


def test_an_agent_reads_devices_without_changing_them(client, make_staff):
    client.force_login(make_staff(roles.SERVICE_AGENT, is_staff=True))
    device = DeviceFactory(token=TOKEN)
    changelist = reverse("admin:customers_device_changelist")

    listed = client.get(changelist)
    client.post(changelist, {"action": "unregister", ACTION_CHECKBOX_NAME: [device.pk]})

    assert list(listed.context["cl"].result_list) == [device]
    assert listed.context["action_form"] is None  # no action offered to her
    device.refresh_from_db()
    assert device.active is True


def test_an_administrator_finds_a_customers_devices_and_stops_one(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "r@example.fr", "pw")
    client.force_login(root)
    lea = CustomerFactory(last_name="Durand")
    device = DeviceFactory(customer=lea, token=TOKEN)
    DeviceFactory()
    changelist = reverse("admin:customers_device_changelist")

    listed = client.get(changelist, {"q": "Durand", "platform": "android", "active": "1"})
    page = client.get(reverse("admin:customers_device_change", args=[device.pk]))
    client.post(changelist, {"action": "unregister", ACTION_CHECKBOX_NAME: [device.pk]})

    assert list(listed.context["cl"].result_list) == [device]
    assert TOKEN[:12] in page.content.decode()
    assert TOKEN not in page.content.decode()  # the whole token never shows
    device.refresh_from_db()
    # The device keeps who stopped it, under its own reason: not the app's own unregistering.
    assert (device.active, device.disabled_reason, device.disabled_by) == (False, "staff", root)
    page = client.get(reverse("admin:customers_device_change", args=[device.pk]))
    assert "Stopped by staff" in page.content.decode()
