"""Service contacts: one conversation across channels, clear refusals, the report, the screens."""

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers import selectors, services
from customers.exceptions import CustomerNotLive
from customers.models import (
    Contact,
    ContactOutcome,
    ContactReason,
    Conversation,
    ConversationStatus,
    ServiceChannel,
)
from omni import roles
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory

pytestmark = pytest.mark.django_db


def log(customer, channel=ServiceChannel.CHAT, reason=ContactReason.DELIVERY, **extra):
    arguments = {
        "customer": customer,
        "channel": channel,
        "reason": reason,
        "outcome": ContactOutcome.FOLLOW_UP,
        "notes": "Parcel not delivered",
        "agent": None,
        **extra,
    }
    return services.contact_log(**arguments)


def test_a_chat_continued_by_phone_is_one_conversation(django_user_model):
    agent = django_user_model.objects.create_user("agent")
    lea = CustomerFactory()

    chat = log(lea, ServiceChannel.CHAT, notes="Where is my parcel?\nOrder W-1001", agent=agent)
    call = log(
        lea,
        ServiceChannel.PHONE,
        conversation=chat.conversation,
        outcome=ContactOutcome.RESOLVED,
        agent=agent,
    )

    conversation = Conversation.objects.get()
    assert (chat.conversation_id, call.conversation_id) == (conversation.pk, conversation.pk)
    assert (conversation.customer, conversation.reason, conversation.subject) == (
        lea,
        ContactReason.DELIVERY,
        "Where is my parcel?",
    )
    assert list(conversation.contacts.order_by("at", "pk").values_list("channel", flat=True)) == [
        "chat",
        "phone",
    ]
    assert (call.agent, call.customer, call.direction) == (agent, lea, "inbound")


def test_a_store_visit_records_the_store():
    store = StoreFactory()

    visit = log(CustomerFactory(), ServiceChannel.STORE, store=store)

    assert visit.store == store


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer": None}, "customer"),
        ({"reason": ""}, "reason"),
        ({"reason": "weather"}, "reason"),
        ({"channel": "pigeon"}, "channel"),
        ({"outcome": ""}, "outcome"),
    ],
)
def test_a_contact_without_a_customer_or_a_valid_reason_is_refused(changes, field):
    arguments = {"customer": CustomerFactory(), **changes}

    with pytest.raises(ValidationError) as refused:
        log(**arguments)

    assert list(refused.value.message_dict) == [field]
    assert not Conversation.objects.exists()
    assert not Contact.objects.exists()


def test_a_conversation_of_another_customer_is_refused():
    lea, ines = CustomerFactory(), CustomerFactory()
    first = log(lea)

    with pytest.raises(services.ConversationMismatch):
        log(ines, ServiceChannel.PHONE, conversation=first.conversation)

    assert Contact.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_a_closed_conversation_takes_no_more_contacts_and_closing_twice_changes_nothing(
    django_user_model,
):
    agent = django_user_model.objects.create_user("agent")
    first = log(CustomerFactory())

    closed = services.conversation_close(conversation=first.conversation, performed_by=agent)
    closed_at = closed.closed_at
    again = services.conversation_close(conversation=first.conversation, performed_by=None)
    with pytest.raises(services.ConversationClosed):
        log(first.customer, conversation=first.conversation)

    assert (again.status, again.closed_at, again.closed_by) == (
        ConversationStatus.CLOSED,
        closed_at,
        agent,
    )
    assert Contact.objects.count() == 1


def test_a_merged_profile_takes_no_contact():
    winner, loser = CustomerFactory(), CustomerFactory()
    services.customer_merge(winner=winner, loser=loser, performed_by=None)
    loser.refresh_from_db()

    with pytest.raises(CustomerNotLive):
        log(loser)

    assert not Contact.objects.exists()


def test_the_report_counts_contacts_by_reason_and_channel(django_assert_num_queries):
    now = timezone.now()
    lea, ines, zoe = CustomerFactory(), CustomerFactory(), CustomerFactory()
    # Léa: a delivery problem by chat, then by phone, still open.
    chat = log(lea, ServiceChannel.CHAT, ContactReason.DELIVERY)
    log(lea, ServiceChannel.PHONE, ContactReason.DELIVERY, conversation=chat.conversation)
    # Inès: a delivery problem by chat, closed.
    closed = log(ines, ServiceChannel.CHAT, ContactReason.DELIVERY)
    services.conversation_close(conversation=closed.conversation, performed_by=None)
    # Zoé: a return by email (open) and a product question in store (closed).
    log(zoe, ServiceChannel.EMAIL, ContactReason.RETURN)
    question = log(zoe, ServiceChannel.STORE, ContactReason.PRODUCT)
    services.conversation_close(conversation=question.conversation, performed_by=None)
    # Outside the period: last month's complaint.
    old = log(zoe, ServiceChannel.PHONE, ContactReason.COMPLAINT)
    Contact.objects.filter(pk=old.pk).update(at=now - timedelta(days=40))

    with django_assert_num_queries(1):
        rows = selectors.contacts_report(since=now - timedelta(days=1), until=now + timedelta(1))

    assert rows == [
        ("delivery", "chat", 2, 1),
        ("delivery", "phone", 1, 1),
        ("product", "store", 1, 0),
        ("return", "email", 1, 1),
    ]
    assert (rows[0].reason_label, rows[0].channel_label) == ("Delivery problem", "Chat")


def test_a_merge_moves_conversations_and_contacts():
    winner, loser = CustomerFactory(), CustomerFactory()
    contact = log(loser)

    record = services.customer_merge(winner=winner, loser=loser, performed_by=None)

    contact.refresh_from_db()
    assert (contact.customer, contact.conversation.customer) == (winner, winner)
    assert record.moved == {
        "customers.Conversation.customer": 1,
        "customers.Contact.customer": 1,
    }


def test_erasure_blanks_the_notes_and_keeps_the_counts():
    lea = CustomerFactory()
    log(lea, notes="Lives at 3 rue des Lilas")

    services.customer_erase(customer=lea, performed_by=None, reason="request")

    contact = Contact.objects.select_related("conversation").get()
    assert (contact.notes, contact.conversation.subject, contact.reason) == ("", "", "delivery")


# --- Screens ------------------------------------------------------------------------------------
def test_an_agent_logs_a_contact_from_the_customer_page(client, make_staff):
    agent = make_staff(roles.SERVICE_AGENT)
    lea = CustomerFactory()
    chat = log(lea)
    client.force_login(agent)
    url = reverse("customers:contact-log", args=[lea.pk])

    page = client.get(reverse("customers:detail", args=[lea.pk]))
    form = client.get(url)
    response = client.post(
        url,
        {
            "channel": "phone",
            "direction": "inbound",
            "reason": "delivery",
            "outcome": "resolved",
            "notes": "Called back: parcel found at the neighbour's",
            "conversation": chat.conversation_id,
        },
    )

    assert url in page.content.decode()
    assert form.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[lea.pk])
    call = Contact.objects.get(channel="phone")
    assert (call.conversation_id, call.agent, call.outcome) == (
        chat.conversation_id,
        agent,
        "resolved",
    )
    page = client.get(reverse("customers:detail", args=[lea.pk])).content.decode()
    assert "parcel found at the neighbour" in page


def test_the_form_refuses_a_missing_reason_and_another_customers_conversation(client, make_staff):
    lea, ines = CustomerFactory(), CustomerFactory()
    other = log(ines)
    client.force_login(make_staff(roles.SERVICE_AGENT))
    url = reverse("customers:contact-log", args=[lea.pk])
    post = {"channel": "chat", "direction": "inbound", "outcome": "resolved", "notes": "x"}

    no_reason = client.post(url, post)
    stolen = client.post(url, {**post, "reason": "other", "conversation": other.conversation_id})

    assert (no_reason.status_code, stolen.status_code) == (200, 200)
    assert no_reason.context["form"].errors.keys() == {"reason"}
    assert stolen.context["form"].errors.keys() == {"conversation"}
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("role", [roles.SERVICE_AGENT, roles.ADMINISTRATOR])
def test_agents_open_the_contact_screens(client, make_staff, role):
    lea = CustomerFactory()
    log(lea, ServiceChannel.PHONE, ContactReason.COMPLAINT)
    client.force_login(make_staff(role))

    form = client.get(reverse("customers:contact-log", args=[lea.pk]))
    report = client.get(reverse("customers:contact-report"))
    home = client.get(reverse("service-home"))

    assert (form.status_code, report.status_code) == (200, 200)
    assert report.context["rows"] == [("complaint", "phone", 1, 1)]
    assert "Complaint" in report.content.decode()
    assert reverse("customers:contact-report") in home.content.decode()


@pytest.mark.parametrize("role", [roles.MARKETER, roles.STORE_STAFF])
def test_other_roles_get_403_and_log_nothing(client, make_staff, role):
    lea = CustomerFactory()
    client.force_login(make_staff(role))
    url = reverse("customers:contact-log", args=[lea.pk])

    post = {"channel": "chat", "reason": "other", "outcome": "resolved", "notes": "x"}
    responses = [client.get(url), client.post(url, post)]
    responses.append(client.get(reverse("customers:contact-report")))

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert not Contact.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client):
    lea = CustomerFactory()

    for url in (
        reverse("customers:contact-log", args=[lea.pk]),
        reverse("customers:contact-report"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_report_period_comes_from_the_form(client, make_staff):
    lea = CustomerFactory()
    old = log(lea, ServiceChannel.EMAIL, ContactReason.RETURN)
    # Noon of a local day 60 days back: "now - 60 days" may fall on another local date when the
    # UTC offset changed in between (summer time) and the test runs late in the evening.
    day = timezone.localdate() - timedelta(days=60)
    noon = timezone.make_aware(datetime.combine(day, time(12)))
    Contact.objects.filter(pk=old.pk).update(at=noon)
    log(lea)
    client.force_login(make_staff(roles.SERVICE_AGENT))
    day = day.isoformat()

    response = client.get(reverse("customers:contact-report"), {"since": day, "until": day})
    reversed_period = client.get(
        reverse("customers:contact-report"), {"since": day, "until": "2000-01-01"}
    )

    assert response.context["rows"] == [("return", "email", 1, 1)]
    assert reversed_period.context["rows"] == []
    assert reversed_period.context["form"].non_field_errors()


def test_an_agent_sees_conversations_with_their_contacts_in_the_admin(client, make_staff):
    first = log(CustomerFactory(), notes="First chat")
    client.force_login(make_staff(roles.SERVICE_AGENT, is_staff=True))

    response = client.get(
        reverse("admin:customers_conversation_change", args=[first.conversation_id])
    )

    assert response.status_code == 200
    assert "First chat" in response.content.decode()
