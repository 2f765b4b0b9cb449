"""The marketers' screens: segment editor with live count, campaign editor with preview and test
send, the campaign's page; bad input gives form errors and writes nothing; who may open them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns.models import Campaign, CampaignStatus, Message, Segment
from omni import roles
from tests.campaigns.factories import consent, make_campaign
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db

EMAIL_BACKEND = {
    "email": "omni.messaging.backends.EmailBackend",
    "sms": "omni.messaging.backends.NullBackend",
    "push": "omni.messaging.backends.NullBackend",
}


@pytest.fixture
def marketer(client, make_staff):
    user = make_staff(roles.MARKETER, email="claire@omni.example", first_name="Claire")
    client.force_login(user)
    return user


@pytest.fixture
def _email_sink(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMNI_MESSAGING_BACKENDS = EMAIL_BACKEND


def segment(name="Clients fidèles", rules=None) -> Segment:
    from campaigns import services

    return services.segment_create(
        name=name, rules=rules or {"field": "orders_count", "op": "gte", "value": 0}
    )


def campaign_data(segment_pk: int, **overrides) -> dict:
    data = {
        "name": "Soldes d'été",
        "segment": segment_pk,
        "channels": ["email", "sms"],
        "channel_mode": "preferred",
        "promoted_product": "",
        "suppress_buyers_days": "30",
        "discount_percent": "",
        "holdout_percent": "0",
        "split_a": "100",
        "winner_metric": "",
        "winner_after": "",
        "test_percent": "100",
        "schedule_kind": "now",
        "send_at": "",
        "recurrence": "",
        "preview_customer": "",
        "a_email_subject": "Bonjour {{ first_name }}",
        "a_email_body": "Les soldes commencent, {{ first_name }} !",
        "a_sms_body": "Soldes: -20% {{ first_name }}",
    }
    data.update(overrides)
    return data


# --- permissions ---------------------------------------------------------------------------------

SCREEN_URLS = [
    ("campaigns:segment-list", ()),
    ("campaigns:segment-create", ()),
    ("campaigns:campaign-list", ()),
    ("campaigns:campaign-create", ()),
]


@pytest.mark.parametrize(("name", "args"), SCREEN_URLS)
@pytest.mark.parametrize(
    ("role", "status"),
    [(roles.MARKETER, 200), (roles.ADMINISTRATOR, 200), (roles.STORE_STAFF, 403), (None, 403)],
)
def test_only_marketers_open_the_marketing_screens(client, make_staff, name, args, role, status):
    client.force_login(make_staff(role))

    assert client.get(reverse(name, args=args)).status_code == status


def test_store_staff_can_neither_preview_nor_test_send_nor_launch(client, make_staff):
    campaign = make_campaign()
    client.force_login(make_staff(roles.STORE_STAFF))

    statuses = [
        client.post(reverse("campaigns:campaign-preview"), {}).status_code,
        client.post(reverse("campaigns:campaign-test-send"), {}).status_code,
        client.post(reverse("campaigns:campaign-launch", args=[campaign.pk])).status_code,
        client.post(reverse("campaigns:campaign-cancel", args=[campaign.pk])).status_code,
        client.get(reverse("campaigns:segment-count"), {"rules": "{}"}).status_code,
    ]

    assert statuses == [403] * 5
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_the_marketing_home_lists_segments_and_campaigns(client, marketer):
    page = client.get(reverse("marketing-home")).content.decode()

    assert reverse("campaigns:segment-list") in page
    assert reverse("campaigns:campaign-list") in page


# --- segments ------------------------------------------------------------------------------------


def test_the_live_count_compiles_the_rules_and_shows_a_sample(client, marketer):
    CustomerFactory(first_name="Alice", postal_code="75011")
    CustomerFactory(first_name="Bruno", postal_code="69001")
    rules = {"field": "postal_code", "op": "startswith", "value": "75"}

    response = client.get(reverse("campaigns:segment-count"), {"rules": json.dumps(rules)})

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 customer matches." in page
    assert "Alice" in page
    assert "Bruno" not in page


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ('{"field": "age", "op": "gte", ', "The rules are not valid JSON"),
        ('{"all": [{"field": "shoe_size", "op": "eq", "value": 38}]}', "all[0].field"),
        ('{"field": "age", "op": "gte", "value": "old"}', "value: expected a whole number"),
    ],
)
def test_the_live_count_names_the_rule_the_compiler_refuses(client, marketer, rules, message):
    response = client.get(reverse("campaigns:segment-count"), {"rules": rules})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()


@pytest.mark.parametrize("customers", [1, 15])
def test_the_live_count_takes_a_fixed_number_of_queries(
    client, marketer, django_assert_max_num_queries, customers
):
    for _ in range(customers):
        CustomerFactory()
    rules = json.dumps({"field": "orders_count", "op": "gte", "value": 0})
    client.get(reverse("campaigns:segment-count"), {"rules": rules})  # per-process caches warm

    # session + user + permissions, then the count and the sample
    with django_assert_max_num_queries(6):
        response = client.get(reverse("campaigns:segment-count"), {"rules": rules})

    assert f"{customers} customer" in response.content.decode()


def test_a_marketer_creates_a_segment_through_the_service(client, marketer):
    rules = {"field": "consent", "op": "granted", "value": "email"}

    response = client.post(
        reverse("campaigns:segment-create"),
        {"name": "Abonnés e-mail", "description": "", "rules": json.dumps(rules)},
    )

    assert response.status_code == 302
    created = Segment.objects.get(name="Abonnés e-mail")
    assert (created.rules, created.created_by) == (rules, marketer)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("not json", "The rules are not valid JSON"),
        ('{"field": "shoe_size", "op": "eq", "value": 38}', "field: unknown field"),
    ],
)
def test_bad_rules_are_form_errors_and_nothing_is_saved(client, marketer, rules, message):
    response = client.post(
        reverse("campaigns:segment-create"), {"name": "Mauvais", "description": "", "rules": rules}
    )

    assert response.status_code == 200
    assert message in str(response.context["form"].errors["rules"])
    assert not Segment.objects.exists()


def test_editing_a_segment_changes_its_rules_not_its_name(client, marketer):
    existing = segment()
    rules = {"field": "age", "op": "between", "value": [25, 40]}

    response = client.post(
        reverse("campaigns:segment-edit", args=[existing.pk]),
        {"name": "Renamed", "description": "25-40", "rules": json.dumps(rules)},
    )

    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.name, existing.description) == ("Clients fidèles", "25-40")
    assert existing.rules == rules


def test_a_segment_name_is_taken_once(client, marketer):
    segment(name="VIP")

    response = client.post(
        reverse("campaigns:segment-create"),
        {"name": "VIP", "description": "", "rules": '{"field": "age", "op": "gte", "value": 18}'},
    )

    assert "A segment already has this name." in str(response.context["form"].errors["name"])
    assert Segment.objects.count() == 1


@pytest.mark.parametrize("segments", [1, 20])
def test_the_segment_list_takes_a_fixed_number_of_queries(
    client, marketer, django_assert_max_num_queries, segments
):
    for index in range(segments):
        make_campaign(name=f"C{index}")

    with django_assert_max_num_queries(6):
        response = client.get(reverse("campaigns:segment-list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert all(f">C{index} segment</a>" in page for index in range(segments))


# --- campaigns -----------------------------------------------------------------------------------


def test_a_marketer_creates_a_campaign_and_it_is_a_draft_until_sent(client, marketer):
    target = segment()
    ProductFactory(reference="ROBE-ETE")

    response = client.post(
        reverse("campaigns:campaign-create"),
        campaign_data(
            target.pk,
            promoted_product="robe-ete",
            discount_percent="15",
            holdout_percent="10",
            split_a="50",
            a_sms_body="Soldes A",
            b_email_subject="Dernier jour",
            b_email_body="B {{ first_name }}",
            b_sms_body="Soldes B",
        ),
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign-detail", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.channels == ["email", "sms"]
    assert campaign.promoted_product.reference == "ROBE-ETE"
    assert campaign.holdout_percent == 10
    assert [(v.name, v.split_percent) for v in campaign.variants.all()] == [("A", 50), ("B", 50)]
    assert campaign.created_by == marketer


def test_an_ab_test_with_an_automatic_winner(client, marketer):
    target = segment()

    response = client.post(
        reverse("campaigns:campaign-create"),
        campaign_data(
            target.pk,
            split_a="50",
            b_email_subject="B",
            b_email_body="B {{ first_name }}",
            b_sms_body="Soldes B",
            winner_metric="click_rate",
            winner_after="4",
            test_percent="20",
        ),
    )

    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.winner_metric, campaign.winner_after, campaign.test_percent) == (
        "click_rate",
        4,
        20,
    )
    page = client.get(response["Location"]).content.decode()
    assert "by Click rate, after 4 h, tested on 20 % of the audience" in page


def test_a_campaign_at_a_time_is_scheduled_through_beat(client, marketer):
    target = segment()
    send_at = timezone.localtime() + dt.timedelta(days=2)

    client.post(
        reverse("campaigns:campaign-create"),
        campaign_data(target.pk, schedule_kind="at", send_at=send_at.strftime("%Y-%m-%dT%H:%M")),
    )

    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert PeriodicTask.objects.get(pk=campaign.periodic_task_id).clocked is not None


def test_a_recurring_campaign_gets_a_crontab(client, marketer):
    target = segment()

    client.post(
        reverse("campaigns:campaign-create"),
        campaign_data(target.pk, schedule_kind="recurring", recurrence="0 10 * * 1"),
    )

    task = Campaign.objects.get().periodic_task
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "10", "1")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"channels": []}, "channels", "Choose at least one channel."),
        (
            {"a_email_body": "Hello {{ first_name.upper }}"},
            "a_email_body",
            "is not a variable messages may use",
        ),
        ({"a_sms_body": "Hi {% if %}"}, "a_sms_body", "template error"),
        ({"a_sms_body": ""}, "a_sms_body", "Variant A has no text for sms."),
        (
            {"schedule_kind": "at", "send_at": "2020-01-01T10:00"},
            "send_at",
            "The time to send at is in the past.",
        ),
        ({"schedule_kind": "recurring", "recurrence": "every monday"}, "recurrence", "crontab"),
        ({"holdout_percent": "80"}, "holdout_percent", "between 0% and 50%"),
        ({"promoted_product": "NOPE"}, "promoted_product", "No product has the reference"),
        ({"split_a": "60"}, "split_a", "must add up to 100%"),
        (
            {"winner_metric": "open_rate", "winner_after": "4", "test_percent": "20"},
            "split_a",
            "An automatic winner needs at least two variants.",
        ),
        ({"winner_after": "4"}, "winner_metric", "Choose the metric that decides the winner."),
    ],
)
def test_bad_campaigns_are_form_errors_and_nothing_is_saved(
    client, marketer, overrides, field, message
):
    target = segment()

    data = campaign_data(target.pk, **overrides)

    response = client.post(reverse("campaigns:campaign-create"), data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Campaign.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="campaign-").exists()


def test_the_preview_renders_each_channel_for_a_customer_of_the_segment(client, marketer):
    CustomerFactory(first_name="Zoé", postal_code="75011")
    target = segment(rules={"field": "postal_code", "op": "startswith", "value": "75"})
    CustomerFactory(first_name="Yves", postal_code="69001")

    response = client.post(reverse("campaigns:campaign-preview"), campaign_data(target.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Bonjour Zoé" in page
    assert "Soldes: -20% Zoé" in page
    assert "Yves" not in page
    assert not Campaign.objects.exists()


def test_the_preview_shows_the_offer_with_a_placeholder_code(client, marketer):
    CustomerFactory(first_name="Zoé")
    target = segment()
    ProductFactory(reference="ROBE-ETE", name="Robe d'été")

    response = client.post(
        reverse("campaigns:campaign-preview"),
        campaign_data(
            target.pk,
            promoted_product="ROBE-ETE",
            discount_percent="15",
            a_sms_body="{{ promoted_product.name }} -{{ discount_percent }}% {{ discount_code }}",
        ),
    )

    assert "Robe d&#x27;été -15% OMPREVIEW00" in response.content.decode()


def test_the_preview_escapes_what_customers_typed(client, marketer):
    CustomerFactory(first_name="<script>alert(1)</script>")
    target = segment()

    response = client.post(reverse("campaigns:campaign-preview"), campaign_data(target.pk))

    page = response.content.decode()
    assert "<script>" not in page
    assert "Bonjour &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_preview_offers_other_customers_of_the_segment_and_renders_the_one_picked(
    client, marketer
):
    CustomerFactory(first_name="Zoé")
    yves = CustomerFactory(first_name="Yves")
    target = segment()

    first = client.post(reverse("campaigns:campaign-preview"), campaign_data(target.pk))
    picked = client.post(
        reverse("campaigns:campaign-preview"), campaign_data(target.pk, preview_pick=yves.pk)
    )

    assert f'"preview_pick": "{yves.pk}"' in first.content.decode()
    assert "Bonjour Zoé" in first.content.decode()
    assert "Bonjour Yves" in picked.content.decode()
    assert f'id="id_preview_pick" value="{yves.pk}" hx-swap-oob="true"' in picked.content.decode()


def test_the_preview_can_be_for_a_customer_found_by_search(client, marketer):
    target = segment()
    CustomerFactory(first_name="Zoé")
    CustomerFactory(first_name="Yves", email="yves@example.fr")

    response = client.post(
        reverse("campaigns:campaign-preview"),
        campaign_data(target.pk, preview_customer="yves@example.fr"),
    )

    assert "Bonjour Yves" in response.content.decode()


def test_the_preview_shows_a_forbidden_attribute_as_an_error(client, marketer):
    CustomerFactory()
    target = segment()

    response = client.post(
        reverse("campaigns:campaign-preview"),
        campaign_data(target.pk, a_email_subject="{{ first_name.upper }}"),
    )

    page = response.content.decode()
    assert "A · Email · Subject: first_name.upper is not a variable messages may use" in page
    assert "Soldes" not in page


@pytest.mark.usefixtures("_email_sink")
def test_the_test_send_goes_to_the_marketer_only_and_writes_nothing(client, marketer):
    lea = CustomerFactory(first_name="Léa", email="lea@example.fr")
    consent(lea, "email", "sms")
    target = segment()

    response = client.post(reverse("campaigns:campaign-test-send"), campaign_data(target.pk))

    assert "Variant A: test sent to claire@omni.example (2 texts)." in response.content.decode()
    assert [message.to for message in mail.outbox] == [["claire@omni.example"]] * 2
    assert [message.subject for message in mail.outbox] == [
        "[Test · Email] Bonjour Léa",
        "[Test · SMS] Soldes: -20% Léa",
    ]
    assert mail.outbox[0].body == "Les soldes commencent, Léa !"
    assert not Message.objects.exists()
    assert not Campaign.objects.exists()


@pytest.mark.usefixtures("_email_sink")
def test_no_test_send_without_an_email_address(client, make_staff):
    client.force_login(make_staff(roles.MARKETER, email=""))
    CustomerFactory()
    target = segment()

    response = client.post(reverse("campaigns:campaign-test-send"), campaign_data(target.pk))

    assert "no e-mail address" in response.content.decode()
    assert mail.outbox == []


def test_a_new_campaign_can_start_from_an_existing_one(client, marketer):
    source = make_campaign(name="Printemps", channels=("email", "push"), holdout_percent=5)

    form = client.get(reverse("campaigns:campaign-create"), {"from": source.pk}).context["form"]

    assert form.initial["name"] == "Copy of Printemps"
    assert form.initial["segment"] == source.segment_id
    assert form.initial["channels"] == ["email", "push"]
    assert form.initial["holdout_percent"] == 5
    assert form.initial["a_push_subject"] == "Bonjour {{ first_name }}"
    assert form.initial["a_email_body"] == "Hello {{ first_name }}"


def test_the_campaign_page_sends_now_and_shows_the_progress(client, marketer):
    for _ in range(3):
        consent(CustomerFactory(), "email")
    campaign = make_campaign(name="Flash")

    launched = client.post(reverse("campaigns:campaign-launch", args=[campaign.pk]))
    page = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()
    progress = client.get(reverse("campaigns:campaign-progress", args=[campaign.pk]))

    assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert "0 sent, 0 failed, 0 skipped out of 3" in page
    assert 'hx-trigger="every 2s"' in progress.content.decode()
    assert reverse("campaigns:campaign-results", args=[campaign.pk]) in page


def test_the_campaign_page_schedules_a_draft_and_refuses_a_past_time(client, marketer):
    campaign = make_campaign()
    url = reverse("campaigns:campaign-detail", args=[campaign.pk])

    refused = client.post(url, {"schedule_kind": "at", "send_at": "2020-01-01T10:00"})
    campaign.refresh_from_db()
    status_after_refusal = campaign.status
    accepted = client.post(url, {"schedule_kind": "recurring", "recurrence": "0 9 * * 1"})

    assert "The time to send at is in the past." in refused.context["form"].errors["send_at"]
    assert status_after_refusal == CampaignStatus.DRAFT
    assert "Not sent yet." in refused.content.decode()
    assert accepted.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recurrence) == (CampaignStatus.SCHEDULED, "0 9 * * 1")


def test_cancelling_twice_shows_the_service_error(client, marketer):
    campaign = make_campaign()
    url = reverse("campaigns:campaign-cancel", args=[campaign.pk])

    client.post(url)
    second = client.post(url, follow=True)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert "Only a draft or scheduled campaign can be changed." in second.content.decode()


@pytest.mark.parametrize("campaigns", [1, 20])
def test_the_campaign_list_takes_a_fixed_number_of_queries(
    client, marketer, django_assert_max_num_queries, campaigns
):
    for index in range(campaigns):
        make_campaign(name=f"C{index}")

    with django_assert_max_num_queries(6):
        response = client.get(reverse("campaigns:campaign-list"))

    page = response.content.decode()
    assert all(f">C{index}</a>" in page for index in range(campaigns))


def test_the_campaign_page_takes_a_fixed_number_of_queries(
    client, marketer, django_assert_max_num_queries
):
    campaign = make_campaign(channels=("email", "sms", "push"))

    with django_assert_max_num_queries(9):
        response = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]))

    assert response.status_code == 200
