"""The campaigns admin for marketers: segments with a live count, campaigns launched and
cancelled through the services, messages and attributions read-only."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from campaigns.models import Campaign, CampaignEvent, Message, Segment
from omni import roles
from tests.campaigns.factories import consent, make_campaign
from tests.campaigns.tracked import sent_message
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, make_staff):
    user = make_staff(roles.MARKETER, is_staff=True)
    client.force_login(user)
    return user


def test_the_segment_page_shows_its_live_count_and_a_sample(client, marketer):
    lea, _other = CustomerFactory(first_name="Léa"), CustomerFactory()
    consent(lea, "email")
    segment = Segment.objects.create(
        name="Email", rules={"field": "consent", "op": "granted", "value": "email"}
    )

    page = client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))

    assert page.status_code == 200
    assert page.context["adminform"].form.instance == segment
    html = page.content.decode()
    assert "customers matching now" in html.lower()
    count = html.lower().split("customers matching now", 1)[1]
    assert '<div class="readonly">1</div>' in count
    assert reverse("admin:customers_customer_change", args=[lea.pk]) in html


def test_a_segment_is_created_through_the_service_and_bad_rules_are_refused(client, marketer):
    url = reverse("admin:campaigns_segment_add")
    bad = {"name": "Bad", "description": "", "rules": '{"field": "shoe_size", "op": "eq"}'}
    good = {
        "name": "Good",
        "description": "",
        "rules": '{"field": "age", "op": "gte", "value": 18}',
    }

    refused = client.post(url, bad)
    created = client.post(url, good)

    assert refused.status_code == 200
    assert "unknown field" in refused.content.decode()
    assert created.status_code == 302
    segment = Segment.objects.get()
    assert (segment.name, segment.created_by) == ("Good", marketer)


def test_campaigns_are_launched_and_cancelled_through_the_services(client, marketer):
    consent(CustomerFactory(), "email")
    to_launch, to_cancel = make_campaign(name="Launch"), make_campaign(name="Cancel")
    changelist = reverse("admin:campaigns_campaign_changelist")

    client.post(changelist, {"action": "launch_action", ACTION_CHECKBOX_NAME: [to_launch.pk]})
    client.post(changelist, {"action": "cancel_action", ACTION_CHECKBOX_NAME: [to_cancel.pk]})
    again = client.post(
        changelist, {"action": "cancel_action", ACTION_CHECKBOX_NAME: [to_cancel.pk]}, follow=True
    )

    assert Campaign.objects.get(pk=to_launch.pk).status == "sending"
    assert Message.objects.filter(campaign=to_launch).count() == 1
    assert Campaign.objects.get(pk=to_cancel.pk).status == "cancelled"
    events = CampaignEvent.objects.filter(performed_by=marketer).values_list("action", flat=True)
    assert sorted(events) == ["cancelled", "launched"]
    assert "Only a draft or scheduled campaign can be changed." in again.content.decode()


def test_the_campaign_page_shows_variants_content_and_schedule_read_only(client, marketer):
    campaign = make_campaign(name="Soldes")

    page = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Hello {{ first_name }}" in html
    assert 'name="_save"' not in html  # the services own every field


def test_messages_and_attributions_are_read_only_and_filterable(client, marketer):
    message = sent_message(campaign=make_campaign(), customer=CustomerFactory())

    listing = client.get(reverse("admin:campaigns_message_changelist"), {"status": "sent"})
    change = client.post(
        reverse("admin:campaigns_message_change", args=[message.pk]), {"status": "failed"}
    )

    assert listing.status_code == 200
    assert message.idempotency_key in listing.content.decode()
    assert change.status_code == 403
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert client.get(reverse("admin:campaigns_attribution_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_attribution_add")).status_code == 403


def test_store_staff_cannot_open_the_campaigns_admin(client, make_staff):
    client.force_login(make_staff(roles.STORE_STAFF, is_staff=True))

    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 403
