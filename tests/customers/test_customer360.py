"""The 360° customer view: panels from every app, one timeline, permissions, the access log and a
query count that does not grow with her history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Message
from customers import services
from customers.customer360 import Viewer, customer_panels, customer_timeline
from customers.models import (
    Channel,
    ContactChannel,
    ContactOutcome,
    ContactReason,
    Conversation,
    CustomerAccess,
    ServiceChannel,
    SurveyAnswer,
)
from customers.models import Contact as ServiceContact
from omni import roles
from orders.customer360 import customer_key_figures
from orders.models import (
    CartAction,
    CartEvent,
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    Order,
    OrderStatus,
    Return,
)
from tests.campaigns.factories import SentMessageFactory, make_campaign
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, VariantFactory
from tests.orders.factories import CartFactory, CartLineFactory
from tests.orders.order_factories import FulfilmentFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _order(customer, *, number, channel, total, days, status=OrderStatus.PLACED, store=None):
    order = OrderFactory(
        customer=customer, number=number, channel=channel, total=total, status=status, store=store
    )
    Order.objects.filter(pk=order.pk).update(placed_at=days_ago(days))  # auto_now_add
    order.refresh_from_db()
    return order


def _attribute(*, customer, message, order) -> None:
    """An order credited to the message: an Attribution row where that model exists, else the
    redemption of the message's discount code (what the provider reads)."""
    try:
        attribution = apps.get_model("campaigns", "Attribution")
    except LookupError:
        from campaigns.models import DiscountCode

        DiscountCode.objects.create(
            code="SPRING-1",
            campaign=message.campaign,
            message=message,
            customer=customer,
            percent=Decimal("10.00"),
            valid_until=NOW + dt.timedelta(days=7),
            redeemed_at=order.placed_at,
            redeemed_order=order,
        )
        return
    attribution.objects.create(
        order=order,
        message=message,
        campaign=message.campaign,
        customer=customer,
        channel=message.channel,
        touch="click",
        touched_at=message.clicked_at,
        order_placed_at=order.placed_at,
        weight=Decimal("1"),
        revenue_share=order.total,
        order_total=order.total,
        is_last_touch=True,
        created_at=NOW,
    )


@pytest.fixture
def world(make_staff):
    """Léa, with a bit of everything, and two stores: Rivoli (hers) and Lyon."""
    rivoli = StoreFactory(name="Rivoli", code="RIV")
    lyon = StoreFactory(name="Lyon", code="LYO")
    lea = CustomerFactory(first_name="Léa", last_name="Dupont", preferred_store=rivoli)
    services.consent_grant(
        customer=lea,
        channel=ContactChannel.EMAIL,
        source=services.ConsentSource(channel=Channel.WEB),
    )
    services.loyalty_earn(
        customer=lea, amount=Decimal("100.00"), reference="OM-WEB-1", channel=Channel.WEB
    )
    # Key figures: 100 € on the web 10 days ago, 50 € in store 40 days ago, 30 € in the app
    # 400 days ago, and a cancelled order that does not count.
    web = _order(lea, number="OM-WEB-1", channel=Channel.WEB, total=Decimal("100.00"), days=10)
    shop = _order(lea, number="OM-STO-1", channel=Channel.STORE, total=Decimal("50.00"), days=40)
    _order(lea, number="OM-APP-1", channel=Channel.APP, total=Decimal("30.00"), days=400)
    _order(
        lea,
        number="OM-CAN-1",
        channel=Channel.WEB,
        total=Decimal("999.00"),
        days=5,
        status=OrderStatus.CANCELLED,
    )
    FulfilmentFactory(
        order=web,
        location=rivoli,
        reference="OM-WEB-1-1",
        kind=FulfilmentKind.CLICK_AND_COLLECT,
        status=FulfilmentStatus.READY,
        ready_at=days_ago(9),
        pickup_deadline=NOW + dt.timedelta(days=3),
    )
    FulfilmentFactory(
        order=shop,
        location=lyon,
        reference="OM-STO-1-1",
        kind=FulfilmentKind.STORE_SALE,
        status=FulfilmentStatus.COMPLETED,
    )
    Return.objects.create(
        order=shop, location=rivoli, reason="Too small", refund_amount=Decimal("20.00")
    )
    cart = CartFactory(customer=lea, channel=Channel.APP)
    dress = VariantFactory(sku="DRESS-38", name="Robe lin 38")
    CartLineFactory(cart=cart, variant=dress, quantity=1, added_channel=Channel.APP)
    CartEvent.objects.create(
        cart=cart, action=CartAction.ADD, channel=Channel.APP, variant=dress, quantity_after=1
    )
    CartEvent.objects.create(cart=cart, action=CartAction.OPEN, channel=Channel.STORE)
    chat = services.contact_log(
        customer=lea,
        channel=ServiceChannel.CHAT,
        reason=ContactReason.DELIVERY,
        outcome=ContactOutcome.FOLLOW_UP,
        notes="Where is my parcel?",
        agent=None,
    )
    SurveyAnswer.objects.create(
        customer=lea, order_number="OM-STO-1", channel=Channel.STORE, score=4, comment="Nice"
    )
    campaign = make_campaign(name="Spring")
    message = SentMessageFactory(
        campaign=campaign,
        customer=lea,
        at=days_ago(12),
        opened_at=days_ago(11.5),
        clicked_at=days_ago(11),
    )
    _attribute(customer=lea, message=message, order=web)
    return {"lea": lea, "rivoli": rivoli, "lyon": lyon, "chat": chat, "web": web}


def test_the_page_shows_every_kind_of_item(client, make_staff, world):
    lea = world["lea"]
    client.force_login(make_staff(roles.SERVICE_AGENT))

    response = client.get(reverse("customers:customer-360", args=[lea.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    panels = {panel.key: panel for panel in response.context["panels"]}
    assert list(panels) == [
        "profile",
        "consents",
        "loyalty",
        "figures",
        "cart",
        "orders",
        "contacts",
        "satisfaction",
        "messages",
    ]
    assert lea.email in html
    assert "Rivoli" in html
    assert panels["consents"].tables[0].rows[0].cells[1].startswith("Granted")
    assert panels["loyalty"].data.balance == 100
    assert "DRESS-38" in html
    assert "Opened by staff" in html
    assert "Ready for pickup (ready since" in html  # fulfilment status and pickup state
    assert "Completed" in html
    assert "20.00 €" in html
    assert "Where is my parcel?" in html
    assert "4/5" in html
    assert "Nice" in html
    messages = panels["messages"].data
    assert (messages["received"], messages["opened"], messages["clicked"]) == (1, 1, 1)
    assert [row["number"] for row in messages["attributed"]] == ["OM-WEB-1"]
    assert reverse("customers:contact-log", args=[lea.pk]) in html  # agents log contacts


def test_key_figures_are_exact(world):
    figures = customer_key_figures(customer=world["lea"], now=NOW)

    assert figures.lifetime_value == Decimal("180.00")
    assert figures.order_count == 3
    assert figures.average_order_value == Decimal("60.00")
    assert figures.first_purchase == days_ago(400)
    assert figures.last_purchase == days_ago(10)
    # 10 days ago: R5; 2 orders within a year: F3; 150 € within a year: M3.
    assert (figures.recency, figures.frequency, figures.monetary) == (5, 3, 3)
    assert figures.segment == "Loyal"
    assert figures.preferred_channel == Channel.WEB  # tie on count: the highest spend
    assert figures.channels_used == (Channel.WEB, Channel.STORE, Channel.APP)


def test_key_figures_of_a_customer_without_orders():
    figures = customer_key_figures(customer=CustomerFactory())

    assert figures.order_count == 0
    assert figures.lifetime_value == Decimal("0.00")
    assert figures.segment == "No purchase yet"
    assert figures.channels_used == ()


def test_the_timeline_merges_every_source_newest_first(make_staff, world):
    viewer = Viewer(user=make_staff(roles.SERVICE_AGENT))

    page = customer_timeline(customer=world["lea"], viewer=viewer)

    kinds = [entry.kind for entry in page.entries]
    assert [entry.at for entry in page.entries] == sorted(
        (entry.at for entry in page.entries), reverse=True
    )
    for kind in (
        "contact",
        "survey",
        "consent",
        "loyalty",
        "order",
        "fulfilment",
        "return",
        "cart",
        "message_sent",
        "message_opened",
        "message_clicked",
        "attributed",
    ):
        assert kind in kinds, kind
    assert kinds.count("order") == 4  # the cancelled one too: it happened
    assert page.has_next is False


def test_the_timeline_filters_by_kind_and_channel(make_staff, world):
    viewer = Viewer(user=make_staff(roles.SERVICE_AGENT))
    lea = world["lea"]

    orders = customer_timeline(customer=lea, viewer=viewer, kinds=frozenset({"order"}))
    web = customer_timeline(customer=lea, viewer=viewer, channels=frozenset({"web"}))
    chats = customer_timeline(customer=lea, viewer=viewer, channels=frozenset({"chat"}))

    assert [entry.title for entry in orders.entries] == [
        "Order OM-CAN-1",
        "Order OM-WEB-1",
        "Order OM-STO-1",
        "Order OM-APP-1",
    ]
    assert {entry.channel for entry in web.entries} == {"web"}
    assert {entry.kind for entry in web.entries} >= {"order", "fulfilment"}
    assert [entry.title for entry in chats.entries] == ["Contact: Delivery problem"]


def test_the_timeline_is_paginated_by_25(client, make_staff):
    lea = CustomerFactory()
    conversation = Conversation.objects.create(customer=lea, reason=ContactReason.OTHER)
    ServiceContact.objects.bulk_create(
        ServiceContact(
            conversation=conversation,
            customer=lea,
            channel=ServiceChannel.PHONE,
            reason=ContactReason.OTHER,
            outcome=ContactOutcome.RESOLVED,
            notes=f"call {n}",
            at=days_ago(n),
        )
        for n in range(60)
    )
    client.force_login(make_staff(roles.SERVICE_AGENT))
    url = reverse("customers:customer-360", args=[lea.pk])

    first = client.get(url, {"kind": "contact"}).context["timeline"]
    third = client.get(url, {"kind": "contact", "page": 3}).context["timeline"]

    assert len(first.entries) == 25
    assert first.has_next
    assert not first.has_previous
    assert first.entries[0].detail == "Resolved · call 0"
    assert len(third.entries) == 10
    assert not third.has_next
    assert third.has_previous
    assert third.entries[-1].detail == "Resolved · call 59"
    html = client.get(url, {"kind": "contact", "page": 2}).content.decode()
    assert "?kind=contact&amp;page=3#timeline" in html
    assert "?kind=contact&amp;page=1#timeline" in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.STORE_STAFF, 200),
        (roles.SERVICE_AGENT, 200),
        (roles.ADMINISTRATOR, 200),
        (roles.MARKETER, 403),
        (roles.ECOMMERCE_SITE, 403),
    ],
)
def test_who_may_read_the_360_view(client, make_staff, world, role, status):
    client.force_login(make_staff(role, stores=[world["rivoli"]]))

    response = client.get(reverse("customers:customer-360", args=[world["lea"].pk]))

    assert response.status_code == status
    reads = CustomerAccess.objects.filter(customer=world["lea"])
    assert reads.count() == (1 if status == 200 else 0)


def test_anonymous_users_go_to_the_login_page(client, world):
    response = client.get(reverse("customers:customer-360", args=[world["lea"].pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not CustomerAccess.objects.exists()


def test_store_staff_get_order_actions_only_at_their_stores(client, make_staff, world):
    client.force_login(make_staff(roles.STORE_STAFF, stores=[world["rivoli"]]))

    html = client.get(reverse("customers:customer-360", args=[world["lea"].pk])).content.decode()

    rivoli = reverse("orders:order-detail", kwargs={"number": "OM-WEB-1"}) + "?store=RIV"
    lyon = reverse("orders:order-detail", kwargs={"number": "OM-STO-1"})
    assert rivoli in html
    assert lyon not in html  # sold in Lyon: she sees it, but cannot act on it
    assert reverse("orders:customer-cart", kwargs={"customer_id": world["lea"].pk}) in html
    assert reverse("customers:contact-log", args=[world["lea"].pk]) not in html


def test_agents_see_no_store_actions(client, make_staff, world):
    client.force_login(make_staff(roles.SERVICE_AGENT))

    html = client.get(reverse("customers:customer-360", args=[world["lea"].pk])).content.decode()

    assert reverse("orders:order-detail", kwargs={"number": "OM-WEB-1"}) not in html
    assert "Ready for pickup" in html


def test_every_read_is_logged_with_who_when_and_where(client, make_staff, world):
    lea = world["lea"]
    agent = make_staff(roles.SERVICE_AGENT, is_staff=True, username="agent-anne")
    client.force_login(agent)

    client.get(reverse("customers:customer-360", args=[lea.pk]))
    client.get(reverse("customers:customer-360", args=[lea.pk]), {"page": 2})
    admin_page = client.get(reverse("admin:customers_customer_360", args=[lea.pk]))

    assert admin_page.status_code == 200
    assert "Where is my parcel?" in admin_page.content.decode()  # the same parts
    reads = list(CustomerAccess.objects.filter(customer=lea).order_by("pk"))
    assert [(r.user, r.username, r.screen) for r in reads] == [
        (agent, "agent-anne", "staff"),
        (agent, "agent-anne", "staff"),
        (agent, "agent-anne", "admin"),
    ]
    assert all(NOW <= read.at <= timezone.now() for read in reads)


def test_the_admin_customer_page_links_to_the_360_view(client, make_staff, world):
    client.force_login(make_staff(roles.SERVICE_AGENT, is_staff=True))

    html = client.get(
        reverse("admin:customers_customer_change", args=[world["lea"].pk])
    ).content.decode()

    assert reverse("admin:customers_customer_360", args=[world["lea"].pk]) in html


def test_marketers_cannot_open_the_admin_360_view(client, make_staff, world):
    client.force_login(make_staff(roles.MARKETER, is_staff=True))

    response = client.get(reverse("admin:customers_customer_360", args=[world["lea"].pk]))

    assert response.status_code == 403
    assert not CustomerAccess.objects.exists()


def test_only_administrators_read_the_access_log_in_the_admin(client, make_staff, world):
    client.force_login(make_staff(roles.SERVICE_AGENT, is_staff=True, username="agent-bob"))
    client.get(reverse("customers:customer-360", args=[world["lea"].pk]))
    changelist = reverse("admin:customers_customeraccess_changelist")

    agent_view = client.get(changelist)
    client.force_login(make_staff(roles.ADMINISTRATOR, is_staff=True))
    admin_view = client.get(changelist)
    read = CustomerAccess.objects.get()

    assert agent_view.status_code == 403
    assert admin_view.status_code == 200
    assert "agent-bob" in admin_view.content.decode()
    detail = client.get(reverse("admin:customers_customeraccess_change", args=[read.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # read-only


def test_panels_are_the_same_reads_for_the_screen_and_the_admin(make_staff, world):
    agent = make_staff(roles.SERVICE_AGENT)

    staff = customer_panels(customer=world["lea"], viewer=Viewer(user=agent, screen="staff"))
    admin = customer_panels(customer=world["lea"], viewer=Viewer(user=agent, screen="admin"))

    assert staff == admin


# --- Query count --------------------------------------------------------------------------------
def _history(customer, size: int, store) -> None:
    """`size` orders (each with a fulfilment), messages and contacts, written in bulk."""
    prefix = f"Q{customer.pk}-"
    orders = Order.objects.bulk_create(
        Order(
            number=f"{prefix}{n}",
            customer=customer,
            channel=(Channel.WEB, Channel.STORE, Channel.APP)[n % 3],
            total=Decimal("10.00") + n,
        )
        for n in range(size)
    )
    Fulfilment.objects.bulk_create(
        Fulfilment(
            order=order,
            kind=FulfilmentKind.CLICK_AND_COLLECT,
            status=FulfilmentStatus.READY,
            reference=f"{order.number}-1",
            location=store,
            ready_at=NOW,
        )
        for order in orders
    )
    campaign = make_campaign(name=f"Campaign {customer.pk}")
    Message.objects.bulk_create(
        SentMessageFactory.build(
            campaign=campaign,
            customer=customer,
            idempotency_key=f"{prefix}{n}",
            at=NOW,
            sent_at=days_ago(n / 100),
            opened_at=days_ago(n / 100) if n % 2 else None,
        )
        for n in range(size)
    )
    conversation = Conversation.objects.create(customer=customer, reason=ContactReason.OTHER)
    ServiceContact.objects.bulk_create(
        ServiceContact(
            conversation=conversation,
            customer=customer,
            channel=ServiceChannel.PHONE,
            reason=ContactReason.OTHER,
            outcome=ContactOutcome.RESOLVED,
            at=days_ago(n / 100),
        )
        for n in range(size)
    )


def test_the_query_count_does_not_grow_with_her_history(client, make_staff):
    store = StoreFactory()
    customers = {size: CustomerFactory() for size in (0, 10, 2000)}
    for size, customer in customers.items():
        _history(customer, size, store)
    client.force_login(make_staff(roles.STORE_STAFF, stores=[store]))

    counts = {}
    for size, customer in customers.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("customers:customer-360", args=[customer.pk]))
        assert response.status_code == 200
        counts[size] = len(queries)

    assert counts[0] == counts[10] == counts[2000]
    assert counts[2000] <= 20
    assert (
        len(
            client.get(reverse("customers:customer-360", args=[customers[2000].pk]))
            .context["timeline"]
            .entries
        )
        == 25
    )


def test_the_page_stays_within_20_queries(client, make_staff, world, django_assert_max_num_queries):
    client.force_login(make_staff(roles.STORE_STAFF, stores=[world["rivoli"]]))

    with django_assert_max_num_queries(20):
        response = client.get(reverse("customers:customer-360", args=[world["lea"].pk]))

    assert response.status_code == 200


def test_the_push_consent_says_whether_an_app_installation_can_receive_it(make_staff):
    from tests.campaigns.factories import consent
    from tests.customers.factories import DeviceFactory

    viewer = Viewer(user=make_staff(roles.SERVICE_AGENT))
    with_app, without_app = CustomerFactory(), CustomerFactory()
    consent(with_app, "email", "push")
    consent(without_app, "push")
    DeviceFactory(customer=with_app)
    DeviceFactory(customer=with_app, platform="ios")
    DeviceFactory(
        customer=with_app, active=False, disabled_at=timezone.now(), disabled_reason="unregistered"
    )

    def push_row(customer):
        panels = {p.key: p for p in customer_panels(customer=customer, viewer=viewer)}
        rows = panels["consents"].tables[0].rows
        return {row.cells[0]: row.cells[1] for row in rows}["Push notification"]

    assert push_row(with_app).endswith("· 2 active app installations")
    assert push_row(without_app).endswith("a push cannot reach her")
    assert push_row(CustomerFactory()) == "Not asked"
