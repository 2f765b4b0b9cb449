"""The management dashboard: every figure on a small hand-built data set (expected values worked
out by hand below), the role matrix, the store scope and a query count that ignores data size.

The data set, first quarter of 2025 (Paris time), two stores PAR01 and LYO01, a warehouse:

    Alice  10 Jan web 100 (delivery) · 5 Feb store 50 (till, PAR01) · 20 Mar app 30 (pickup
           PAR01, promised 12:00, ready 15:00: late)
    Bob    20 Jan app 40 (pickup LYO01, promised 14:00, ready 13:00, collected) · 3 Mar web 60
    Carol  14 Feb store 300 (till, LYO01) · 25 Feb web 999 CANCELLED (pickup cancelled)
    Dan    15 Dec 2024 web 20 (before the period) · 8 Jan phone 700
    Eve    31 Mar 23:30 web 10 (pickup PAR01, promised 1 Apr 12:00, not ready yet) ·
           1 Apr 00:30 web 5000 (after the period: 31 Mar 22:30 UTC, but April in Paris)
    nobody 31 Jan store 25 (anonymous till sale, PAR01)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Channel
from customers.models_service import SurveyAnswer
from customers.satisfaction import CsatRow
from omni import roles
from orders import dashboard
from orders.models import FulfilmentKind, FulfilmentStatus, Order, OrderStatus
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory, WarehouseFactory
from tests.orders.order_factories import FulfilmentFactory, OrderFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
QUARTER = dashboard.period_between(since=date(2025, 1, 1), until=date(2025, 3, 31))
URL = "/dashboard/management/"
D = Decimal


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def order(customer, channel, total, placed_at, *, store=None, cancelled=False, fulfilment=None):
    """A bare order row placed at `placed_at`, with one fulfilment when given."""
    placed = OrderFactory(
        customer=customer,
        channel=channel,
        subtotal=D(total),
        total=D(total),
        store=store,
        status=OrderStatus.CANCELLED if cancelled else OrderStatus.COMPLETED,
    )
    Order.objects.filter(pk=placed.pk).update(placed_at=placed_at)  # auto_now_add otherwise
    if fulfilment:
        FulfilmentFactory(order=placed, **fulfilment)
    return placed


def pickup(location, *, promised, ready=None, collected=None, status=FulfilmentStatus.READY):
    return {
        "kind": FulfilmentKind.CLICK_AND_COLLECT,
        "location": location,
        "status": status,
        "promised_ready_at": promised,
        "ready_at": ready,
        "collected_at": collected,
    }


def answer(customer, number, score, answered_at, *, store=None, channel=Channel.WEB):
    SurveyAnswer.objects.create(
        customer=customer,
        order_number=number,
        store=store,
        channel=channel,
        score=score,
        answered_at=answered_at,
    )


@pytest.fixture
def shop():
    paris = StoreFactory(code="PAR01", name="Paris Rivoli")
    lyon = StoreFactory(code="LYO01", name="Lyon Part-Dieu")
    warehouse = WarehouseFactory(code="WH-N")
    delivery = {"kind": FulfilmentKind.DELIVERY, "location": warehouse, "status": "delivered"}
    sale = {"kind": FulfilmentKind.STORE_SALE, "status": FulfilmentStatus.COMPLETED}
    alice, bob, carol, dan, eve = (CustomerFactory(first_name=name) for name in "ABCDE")

    order(alice, Channel.WEB, "100", at(1, 10), fulfilment=delivery)
    order(alice, Channel.STORE, "50", at(2, 5), store=paris, fulfilment={**sale, "location": paris})
    late = pickup(paris, promised=at(3, 20, 12), ready=at(3, 20, 15))
    order(alice, Channel.APP, "30", at(3, 20, 9), fulfilment=late)
    on_time = pickup(lyon, promised=at(1, 20, 14), ready=at(1, 20, 13), collected=at(1, 21))
    order(bob, Channel.APP, "40", at(1, 20, 9), fulfilment={**on_time, "status": "collected"})
    order(bob, Channel.WEB, "60", at(3, 3), fulfilment=delivery)
    order(carol, Channel.STORE, "300", at(2, 14), store=lyon, fulfilment={**sale, "location": lyon})
    dropped = pickup(lyon, promised=at(2, 25, 14), status=FulfilmentStatus.CANCELLED)
    order(carol, Channel.WEB, "999", at(2, 25, 9), cancelled=True, fulfilment=dropped)
    order(dan, Channel.WEB, "20", at(12, 15, year=2024), fulfilment=delivery)
    order(dan, Channel.PHONE, "700", at(1, 8), fulfilment=delivery)
    waiting = pickup(paris, promised=at(4, 1, 12), status=FulfilmentStatus.RESERVED)
    order(eve, Channel.WEB, "10", at(3, 31, 23, 30), fulfilment=waiting)
    order(eve, Channel.WEB, "5000", at(4, 1, 0, 30), fulfilment=delivery)
    order(None, Channel.STORE, "25", at(1, 31), store=paris, fulfilment={**sale, "location": paris})

    answer(alice, "A-FEB", 5, at(2, 6), store=paris, channel=Channel.STORE)
    answer(alice, "A-MAR", 4, at(3, 21), store=paris, channel=Channel.APP)
    answer(bob, "B-JAN", 3, at(1, 22), store=lyon, channel=Channel.APP)
    answer(carol, "C-FEB", 4, at(2, 15), store=lyon, channel=Channel.STORE)
    answer(dan, "D-JAN", 2, at(1, 10), channel=Channel.PHONE)
    answer(eve, "E-APR", 1, at(4, 2))  # after the period
    return SimpleNamespace(paris=paris, lyon=lyon)


# The figures -----------------------------------------------------------------------------------


def test_csat_overall_and_per_store_channel_and_month(shop):
    csat = dashboard.satisfaction(period=QUARTER)

    # Five answers in the quarter (Eve's is in April); 5, 4 and 4 are satisfied: 3 of 5.
    assert csat.overall == CsatRow(None, 5, 3, D("60.0"))
    assert csat.by_store == [
        CsatRow("LYO01", 2, 1, D("50.0")),  # Bob 3, Carol 4
        CsatRow("PAR01", 2, 2, D("100.0")),  # Alice 5 and 4
        CsatRow(None, 1, 0, D("0.0")),  # Dan 2, by phone
    ]
    assert csat.by_channel == [
        CsatRow("app", 2, 1, D("50.0")),
        CsatRow("phone", 1, 0, D("0.0")),
        CsatRow("store", 2, 2, D("100.0")),
    ]
    assert csat.by_month == [
        CsatRow(date(2025, 1, 1), 2, 0, D("0.0")),  # Bob 3, Dan 2
        CsatRow(date(2025, 2, 1), 2, 2, D("100.0")),
        CsatRow(date(2025, 3, 1), 1, 1, D("100.0")),
    ]


def test_csat_of_one_store(shop):
    csat = dashboard.satisfaction(period=QUARTER, stores=[shop.paris])

    assert csat.overall == CsatRow(None, 2, 2, D("100.0"))
    assert csat.by_store == [CsatRow("PAR01", 2, 2, D("100.0"))]


def test_retention_by_monthly_cohort(shop):
    cohorts = dashboard.retention(period=QUARTER)

    # January: Alice and Bob (Dan's first order was in December: not a cohort of the period).
    # Alice ordered again in February and March, Bob in March. February: Carol (her cancelled
    # order does not count), nobody back in March. March: Eve (her April order is outside).
    assert cohorts == [
        dashboard.Cohort(date(2025, 1, 1), customers=2, returning=(1, 2)),
        dashboard.Cohort(date(2025, 2, 1), customers=1, returning=(0,)),
        dashboard.Cohort(date(2025, 3, 1), customers=1, returning=()),
    ]
    assert cohorts[0].rates == (D("50.0"), D("100.0"))
    assert cohorts[1].rates == (D("0.0"),)


def test_lifetime_value_distribution(shop):
    value = dashboard.lifetime_value(period=QUARTER)

    # Revenue to the period's end of those who ordered in it: Alice 100+50+30 = 180,
    # Bob 40+60 = 100 (a bucket's lower bound is included), Carol 300 (999 cancelled),
    # Dan 20+700 = 720 (his December order counts for his lifetime), Eve 10 (not the 5000).
    assert value.customers == 5
    assert value.revenue == D("1310.00")
    assert value.average == D("262.00")
    assert [
        (bucket.low, bucket.high, bucket.customers, bucket.revenue) for bucket in value.buckets
    ] == [
        (D(0), D(50), 1, D("10.00")),
        (D(50), D(100), 0, D(0)),
        (D(100), D(250), 2, D("280.00")),
        (D(250), D(500), 1, D("300.00")),
        (D(500), D(1000), 1, D("720.00")),
        (D(1000), None, 0, D(0)),
    ]


def test_share_of_customers_on_more_than_one_channel(shop):
    mix = dashboard.channel_mix(period=QUARTER)

    # Alice web, store, app; Bob app, web; Carol store (her web order was cancelled); Dan phone
    # (his web order is before the period); Eve web.
    assert mix == dashboard.ChannelMix(customers=5, one=3, two=1, three_or_more=1)
    assert mix.multichannel == 2
    assert mix.share == D("40.0")


def test_revenue_by_channel_and_month(shop):
    cells = dashboard.revenue_by_channel(period=QUARTER)

    assert cells == [
        dashboard.RevenueCell(date(2025, 1, 1), "app", 1, D("40.00")),  # Bob
        dashboard.RevenueCell(date(2025, 1, 1), "phone", 1, D("700.00")),  # Dan
        dashboard.RevenueCell(date(2025, 1, 1), "store", 1, D("25.00")),  # anonymous till sale
        dashboard.RevenueCell(date(2025, 1, 1), "web", 1, D("100.00")),  # Alice
        dashboard.RevenueCell(date(2025, 2, 1), "store", 2, D("350.00")),  # Alice 50, Carol 300
        dashboard.RevenueCell(date(2025, 3, 1), "app", 1, D("30.00")),  # Alice
        # Bob 60 and Eve 10 at 23:30 on 31 March, Paris time: March, not April.
        dashboard.RevenueCell(date(2025, 3, 1), "web", 2, D("70.00")),
    ]


def test_click_and_collect_volume_and_on_time_rate(shop):
    months = dashboard.click_and_collect(period=QUARTER)

    # January: Bob's pickup, ready at 13:00 for 14:00 and collected. February: Carol's was
    # cancelled (not counted). March: Alice's, ready at 15:00 for 12:00 (late), and Eve's,
    # promised for 1 April noon and still not ready today: due and late.
    assert months == [
        dashboard.PickupMonth(date(2025, 1, 1), pickups=1, collected=1, due=1, on_time=1),
        dashboard.PickupMonth(date(2025, 3, 1), pickups=2, collected=0, due=2, on_time=0),
    ]
    assert [month.on_time_rate for month in months] == [D("100.0"), D("0.0")]


def test_a_pickup_whose_promised_time_is_still_ahead_is_not_due_yet(shop):
    months = dashboard.click_and_collect(period=QUARTER, now=at(4, 1, 9))

    assert months[-1] == dashboard.PickupMonth(date(2025, 3, 1), 2, collected=0, due=1, on_time=0)


def test_figures_of_one_store(shop):
    board = dashboard.management_dashboard(period=QUARTER, stores=[shop.paris])

    # PAR01's orders: the anonymous till sale (25), Alice's till sale (50) and pickup (30),
    # Eve's pickup (10). Lyon and the warehouse deliveries are out.
    assert [(cell.month.month, cell.channel, cell.revenue) for cell in board.revenue] == [
        (1, "store", D("25.00")),
        (2, "store", D("50.00")),
        (3, "app", D("30.00")),
        (3, "web", D("10.00")),
    ]
    assert board.channel_mix == dashboard.ChannelMix(customers=2, one=1, two=1, three_or_more=0)
    assert board.pickups == [dashboard.PickupMonth(date(2025, 3, 1), 2, 0, 2, 0)]
    # Alice's lifetime at PAR01: 50 + 30; Eve's: 10.
    assert (board.lifetime_value.customers, board.lifetime_value.revenue) == (2, D("90.00"))
    assert board.retention == [
        dashboard.Cohort(date(2025, 2, 1), customers=1, returning=(1,)),
        dashboard.Cohort(date(2025, 3, 1), customers=1, returning=()),
    ]


def test_nothing_to_show_gives_empty_figures():
    board = dashboard.management_dashboard(period=QUARTER)

    assert board.satisfaction.overall == CsatRow(None, 0, 0, D("0.00"))
    assert (board.retention, board.revenue, board.pickups) == ([], [], [])
    assert board.lifetime_value.average is None
    assert board.channel_mix.share is None


def test_the_default_period_is_the_last_twelve_months():
    period = dashboard.default_period(today=date(2025, 3, 15))

    assert period == (at(4, 1, 0, year=2024), at(3, 16, 0))


# The screen ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.STORE_MANAGER, 200),
        (roles.MARKETER, 200),
        (roles.ADMINISTRATOR, 200),
        (roles.STORE_STAFF, 403),
        (roles.SERVICE_AGENT, 403),
    ],
)
def test_who_may_open_the_dashboard(client, make_staff, role, status):
    store = StoreFactory()
    client.force_login(make_staff(role, stores=[store]))

    assert client.get(reverse("orders:dashboard")).status_code == status


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_dashboard_is_listed_on_the_dashboard_area(client, make_staff):
    client.force_login(make_staff(roles.MARKETER))

    response = client.get(reverse("dashboard-home"))

    assert URL.encode() in response.content


def test_the_page_shows_the_figures_as_charts_and_tables(client, make_staff, shop):
    client.force_login(make_staff(roles.MARKETER))

    response = client.get(URL, {"since": "2025-01-01", "until": "2025-03-31"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg viewBox") == 9
    assert 'id="chart-csat-store-table"' in html
    assert "60.0\N{NO-BREAK SPACE}%" in html  # overall CSAT
    assert "40.0\N{NO-BREAK SPACE}%" in html  # on more than one channel
    assert "1,315.00" in html  # revenue of the quarter: 865 + 350 + 100 (en locale)
    assert response.context["board"].period == QUARTER


def test_a_marketer_may_pick_one_store(client, make_staff, shop):
    client.force_login(make_staff(roles.MARKETER))

    response = client.get(URL, {"since": "2025-01-01", "until": "2025-03-31", "store": "PAR01"})

    revenue = sum(cell.revenue for cell in response.context["board"].revenue)
    assert revenue == D("115.00")


def test_a_store_manager_sees_her_stores_only(client, make_staff, shop):
    client.force_login(make_staff(roles.STORE_MANAGER, stores=[shop.paris]))
    quarter = {"since": "2025-01-01", "until": "2025-03-31"}

    mine = client.get(URL, quarter)
    other = client.get(URL, {**quarter, "store": "LYO01"})

    assert sum(cell.revenue for cell in mine.context["board"].revenue) == D("115.00")
    assert other.context["form"].errors["store"]
    assert sum(cell.revenue for cell in other.context["board"].revenue) == D("115.00")


def test_a_manager_without_a_store_sees_no_figures(client, make_staff, shop):
    client.force_login(make_staff(roles.STORE_MANAGER))

    response = client.get(URL)

    assert response.context["no_store"] is True
    assert "board" not in response.context


def test_a_backwards_range_is_refused_and_the_default_shown(client, make_staff):
    client.force_login(make_staff(roles.MARKETER))

    response = client.get(URL, {"since": "2025-03-31", "until": "2025-01-01"})

    assert "The start date must be on or before the end date." in response.content.decode()
    assert response.context["board"].period == dashboard.default_period()


def test_the_query_count_does_not_grow_with_the_data(client, make_staff, shop):
    client.force_login(make_staff(roles.MARKETER))
    quarter = {"since": "2025-01-01", "until": "2025-03-31"}
    with CaptureQueriesContext(connection) as small:
        client.get(URL, quarter)
    for day in range(1, 29):
        customer = CustomerFactory()
        ready = at(2, day, 10)
        order(
            customer, Channel.WEB, "12.50", at(1, day), fulfilment=pickup(shop.lyon, promised=ready)
        )
        order(customer, Channel.APP, "80", at(2, day), store=shop.paris)
        answer(customer, f"X-{day}", 1 + day % 5, at(2, day), store=shop.lyon)

    with CaptureQueriesContext(connection) as large:
        response = client.get(URL, quarter)

    assert response.context["board"].channel_mix.customers == 5 + 28
    assert len(large) == len(small)
    assert len(large) <= 14


def test_the_figures_take_one_query_each(shop, django_assert_num_queries):
    with django_assert_num_queries(8):  # 3 CSAT, retention, LTV, mix, revenue, pickups
        dashboard.management_dashboard(period=QUARTER)


# The demo data -----------------------------------------------------------------------------------


def test_the_demo_orders_are_consistent_idempotent_and_fill_the_dashboard(settings, tmp_path):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path  # the demo campaign's outbox file
    from django.db.models import Count, F, Sum

    from orders.models import Fulfilment, FulfilmentLine, OrderLine

    call_command("seed_demo", customers=60, products=4, stores=2, orders=3, verbosity=0)
    counts = (Order.objects.count(), OrderLine.objects.count(), SurveyAnswer.objects.count())

    call_command("seed_demo", customers=60, products=4, stores=2, orders=3, verbosity=0)

    assert (Order.objects.count(), OrderLine.objects.count(), SurveyAnswer.objects.count()) == (
        counts
    )
    orders = Order.objects.annotate(lines_total=Sum("lines__line_total"))
    assert orders.count() > 30
    assert not orders.exclude(subtotal=F("lines_total")).exists()
    assert not orders.exclude(total=F("subtotal") + F("shipping_total")).exists()
    assert not Order.objects.annotate(parts=Count("fulfilments")).exclude(parts=1).exists()
    assert not OrderLine.objects.filter(fulfilment_lines__isnull=True).exists()
    assert FulfilmentLine.objects.count() == OrderLine.objects.count()
    assert Fulfilment.objects.filter(kind=FulfilmentKind.CLICK_AND_COLLECT).exists()
    today = timezone.localdate()
    year = dashboard.period_between(since=today - timedelta(days=366), until=today)
    board = dashboard.management_dashboard(period=year)
    assert (
        sum(cell.orders for cell in board.revenue)
        == Order.objects.exclude(status=OrderStatus.CANCELLED).count()
    )
    assert board.channel_mix.customers > 0


@pytest.mark.parametrize("store", [None, "paris", "lyon"])
def test_the_dashboard_is_one_query_per_figure_for_any_stores(shop, store):
    stores = None if store is None else [getattr(shop, store)]

    with CaptureQueriesContext(connection) as queries:
        dashboard.management_dashboard(period=QUARTER, stores=stores)

    assert len(queries) == 8


def test_retention_reads_months_in_the_site_time_zone(shop):
    # A cohort across a year end: Dan's first order (December 2024) and his January one.
    winter = dashboard.period_between(since=date(2024, 12, 1), until=date(2025, 1, 31))

    cohorts = dashboard.retention(period=winter)

    assert cohorts == [
        dashboard.Cohort(date(2024, 12, 1), customers=1, returning=(1,)),
        dashboard.Cohort(date(2025, 1, 1), customers=2, returning=()),
    ]
    # Eve's order of 31 March 23:30 in Paris is 22:30 UTC: March, not April.
    assert dashboard.retention(period=QUARTER)[-1] == dashboard.Cohort(
        date(2025, 3, 1), customers=1, returning=()
    )
