"""Benchmark: the management dashboard on a 100,000-customer base (and, once added, the 360°
customer page).

.venv/bin/python bench/customer360.py [--customers 100000] [--orders 2] [--repeat 5]
    [--database-url postgres://.../omni_bench]

Seeds a fresh database with seed_demo's own code (stores, catalogue, customers, and a year of
orders through omni/demo_orders.py), then times every figure of the management dashboard
(orders.dashboard.management_dashboard, default period: the last 12 months) against a single
`SELECT COUNT(*)` of the customers, in the same run, and prints the ratio.

One function per part: `dashboard_part` here; the 360° page part goes beside it and adds its
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

    from omni import demo

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
    for part in (dashboard_part,):
        part_figures, part_targets = part(repeat=args.repeat)
        figures |= part_figures
        targets |= part_targets
    report("customer360", figures, targets)


if __name__ == "__main__":
    main()
