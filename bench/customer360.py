"""Benchmark: the 360° customer page for a customer with 10 orders and one with 2,000 (plus as
many messages and service contacts), and the management dashboard on a 100,000-customer base.

.venv/bin/python bench/customer360.py [--customers 100000] [--orders 2] [--repeat 5]
    [--database-url postgres://.../omni_bench]

Seeds a fresh database with seed_demo's own code (stores, catalogue, customers, and a year of
orders through demo/orders.py), then times every figure of the management dashboard
(orders.dashboard.management_dashboard, default period: the last 12 months) against a single
`SELECT COUNT(*)` of the customers, in the same run, and prints the ratio.

The 360° part renders the staff page in-process (Django's test client, a store salesperson logged
in) and prints its server time and query count for both customers, and their ratio (target: at
most 1.5: the page must not slow down with her history). One function per part; each adds its
figures and targets to the same JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from _support import DEFAULT_URL, fresh_database, report, setup_django, target

DASHBOARD_TARGET_MS = 2_000  # every figure of the page, all stores, on the 100,000 customers


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of `repeat` runs, after one warm-up run."""
    run()
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def seed(*, customers: int, orders: int) -> dict:
    """The demo data set, as seed_demo builds it; return what was seeded."""
    from django.db import connection

    from demo import seed as demo

    started = time.perf_counter()
    counts = demo.seed(
        customers=customers, products=40, stores=10, seed=1, orders_per_customer=orders
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {**counts, "seed_seconds": round(time.perf_counter() - started, 1)}


def dashboard_part(*, repeat: int) -> tuple[dict, dict]:
    """Time each dashboard figure and the whole set against a COUNT(*) of the customers."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from customers.models import Customer
    from orders import dashboard

    period = dashboard.default_period()
    selectors = {
        "satisfaction": dashboard.satisfaction,
        "retention": dashboard.retention,
        "lifetime_value": dashboard.lifetime_value,
        "channel_mix": dashboard.channel_mix,
        "revenue_by_channel": dashboard.revenue_by_channel,
        "click_and_collect": dashboard.click_and_collect,
    }
    count_ms = statistics.median(timed(lambda: Customer.objects.count(), repeat))
    each = {
        name: round(statistics.median(timed(lambda s=selector: s(period=period), repeat)), 1)
        for name, selector in selectors.items()
    }
    whole_ms = statistics.median(
        timed(lambda: dashboard.management_dashboard(period=period), repeat)
    )
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        board = dashboard.management_dashboard(period=period)
    ratio = whole_ms / count_ms if count_ms else float("inf")
    print(
        f"dashboard: {whole_ms:.0f} ms for every figure ({len(queries)} queries), "
        f"COUNT(*) of customers: {count_ms:.2f} ms, ratio {ratio:.0f}x"
    )
    for name, ms in each.items():
        print(f"  {name:<20} {ms:>8.1f} ms")
    figures = {
        "dashboard_ms": round(whole_ms, 1),
        "dashboard_queries": len(queries),
        "count_customers_ms": round(count_ms, 2),
        "dashboard_vs_count_ratio": round(ratio, 1),
        "dashboard_selector_ms": each,
        "dashboard_customers_who_ordered": board.channel_mix.customers,
    }
    targets = {
        "dashboard_ms": target(
            whole_ms, f"<= {DASHBOARD_TARGET_MS} ms", whole_ms <= DASHBOARD_TARGET_MS
        ),
        "dashboard_queries": target(len(queries), "== 8 (one per figure)", len(queries) == 8),
    }
    return figures, targets


PAGE_RATIO_TARGET = 1.5
PAGE_QUERY_TARGET = 20


def _history(customer, *, size: int, store, campaign) -> None:
    """`size` orders with a fulfilment, campaign messages and service contacts, in bulk."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from campaigns.models import Message, MessageStatus
    from customers.models import (
        Contact,
        ContactOutcome,
        ContactReason,
        Conversation,
        ServiceChannel,
    )
    from orders.models import Fulfilment, FulfilmentKind, FulfilmentStatus, Order

    now = timezone.now()
    channels = ("web", "store", "app")
    orders = Order.objects.bulk_create(
        Order(
            number=f"B360-{customer.pk}-{n}",
            customer=customer,
            channel=channels[n % 3],
            total=Decimal("10.00") + n,
            subtotal=Decimal("10.00") + n,
        )
        for n in range(size)
    )
    Fulfilment.objects.bulk_create(
        Fulfilment(
            order=order,
            kind=FulfilmentKind.CLICK_AND_COLLECT,
            status=FulfilmentStatus.COLLECTED,
            reference=f"{order.number}-1",
            location=store,
            ready_at=now,
            collected_at=now,
        )
        for order in orders
    )
    Message.objects.bulk_create(
        Message(
            campaign=campaign,
            customer=customer,
            run="bench",
            channel="email",
            idempotency_key=f"B360-{customer.pk}-{n}",
            status=MessageStatus.SENT,
            not_before=now,
            created_at=now,
            sent_at=now - timedelta(hours=n),
        )
        for n in range(size)
    )
    conversation = Conversation.objects.create(customer=customer, reason=ContactReason.OTHER)
    Contact.objects.bulk_create(
        Contact(
            conversation=conversation,
            customer=customer,
            channel=ServiceChannel.PHONE,
            reason=ContactReason.OTHER,
            outcome=ContactOutcome.RESOLVED,
            at=now - timedelta(hours=n),
        )
        for n in range(size)
    )


def page_part(*, repeat: int) -> tuple[dict, dict]:
    """Server time and query count of the 360° page: 10 orders against 2,000."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from campaigns import services as campaign_services
    from customers.models import Customer
    from inventory.models import Location, LocationKind, StaffProfile

    store = Location.objects.filter(kind=LocationKind.STORE).order_by("code").first()
    segment = campaign_services.segment_create(
        name="bench 360", rules={"field": "orders_count", "op": "gte", "value": 0}
    )
    campaign = campaign_services.campaign_create(
        spec=campaign_services.CampaignSpec(
            name="bench 360",
            segment=segment,
            channels=("email",),
            variants=(
                campaign_services.VariantSpec(
                    name="A",
                    split_percent=100,
                    contents=(
                        campaign_services.ChannelContent(
                            channel="email", subject="Bonjour", body="Bonjour {{ first_name }}"
                        ),
                    ),
                ),
            ),
        )
    )
    small, large = Customer.objects.order_by("pk")[:2]
    _history(small, size=10, store=store, campaign=campaign)
    _history(large, size=2_000, store=store, campaign=campaign)
    user = User.objects.create_user("bench-vendeur", password="bench-Password-1")
    user.groups.add(Group.objects.get(name="store_staff"))
    StaffProfile.objects.create(user=user, default_store=store).stores.add(store)
    client = Client()
    client.force_login(user)

    results = {}
    for label, customer in (("10_orders", small), ("2000_orders", large)):
        url = reverse("customers:customer-360", args=[customer.pk])
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        count = len(queries)  # now: the next request resets the connection's query log
        ms = statistics.median(timed(lambda url=url: client.get(url), repeat))
        results[label] = (ms, count)
        print(f"360° page, {label:<12} {ms:8.1f} ms  {count} queries")
    ratio = results["2000_orders"][0] / results["10_orders"][0]
    print(f"360° page ratio 2,000 / 10 orders: {ratio:.2f}")
    figures = {
        "page_10_orders_ms": round(results["10_orders"][0], 1),
        "page_2000_orders_ms": round(results["2000_orders"][0], 1),
        "page_10_orders_queries": results["10_orders"][1],
        "page_2000_orders_queries": results["2000_orders"][1],
        "page_ratio": round(ratio, 2),
    }
    queries_ok = results["10_orders"][1] == results["2000_orders"][1] <= PAGE_QUERY_TARGET
    targets = {
        "page_ratio": target(ratio, f"<= {PAGE_RATIO_TARGET}", ratio <= PAGE_RATIO_TARGET),
        "page_queries": target(
            results["2000_orders"][1], f"<= {PAGE_QUERY_TARGET}, same for both", queries_ok
        ),
    }
    return figures, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=2, help="orders per buying customer")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    setup_django(fresh_database(args.database_url))
    figures = seed(customers=args.customers, orders=args.orders)
    print(
        f"seeded {figures['customers']} customers and {figures['orders']} orders "
        f"in {figures['seed_seconds']} s"
    )
    targets: dict = {}
    for part in (page_part, dashboard_part):
        part_figures, part_targets = part(repeat=args.repeat)
        figures |= part_figures
        targets |= part_targets
    report("customer360", figures, targets)


if __name__ == "__main__":
    main()
