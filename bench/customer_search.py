"""Benchmark: customer search (name, email, phone, card) against a primary-key lookup.

.venv/bin/python bench/customer_search.py [--customers 100000] [--repeat 200]
    [--database-url postgres://.../omni_bench]

Seeds the customers with seed_demo's own code into a fresh database, then times each kind of
search through customers.selectors.customer_search, and a primary-key lookup, in the same run.
Target: every search's p50 within 3x the primary-key lookup's p50.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from _support import DEFAULT_URL, fresh_database, report, setup_django, target

TARGET_RATIO = 3.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(run: Callable[[object], object], samples: list) -> list[float]:
    durations = []
    for sample in samples:
        started = time.perf_counter()
        run(sample)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    setup_django(fresh_database(args.database_url))
    from django.db import connection

    from customers.models import Customer
    from customers.selectors import customer_search
    from demo import seed as demo

    stores = [loc for loc in demo.seed_locations(stores=4) if loc.is_store]
    demo.seed_customers(count=args.customers, seed=1, stores=stores)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")

    rng = random.Random(7)
    ids = list(Customer.objects.values_list("pk", flat=True))
    picked = list(Customer.objects.filter(pk__in=rng.sample(ids, args.repeat)))
    rng.shuffle(picked)

    def national(phone: str) -> str:  # "+33612345678" typed as "06 12 34 56 78"
        digits = "0" + phone[3:]
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))

    def search(query: str) -> list:
        return list(customer_search(query=query))

    kinds = {
        "pk": (lambda c: Customer.objects.get(pk=c.pk), picked),
        "name": (lambda c: search(f"{c.first_name} {c.last_name}"), picked),
        "email": (lambda c: search(c.email), picked),
        "phone": (lambda c: search(national(c.phone)), picked),
        "card": (lambda c: search(c.card_number), picked),
    }
    for run, samples in kinds.values():  # warm the caches and the connection
        timed(run, samples[:20])
    figures, targets = {"customers": Customer.objects.count(), "repeat": args.repeat}, {}
    results = {name: timed(run, samples) for name, (run, samples) in kinds.items()}
    pk_p50 = statistics.median(results["pk"])
    print(f"customers: {figures['customers']:,}, {args.repeat} lookups each")
    print(f"{'lookup':8} {'p50 ms':>8} {'p95 ms':>8} {'p50 / pk':>9}")
    for name, durations in results.items():
        p50, p95 = statistics.median(durations), percentile(durations, 0.95)
        ratio = p50 / pk_p50
        print(f"{name:8} {p50:8.3f} {p95:8.3f} {ratio:9.2f}")
        figures[f"{name}_p50_ms"] = round(p50, 3)
        figures[f"{name}_p95_ms"] = round(p95, 3)
        if name != "pk":
            targets[f"{name}_vs_pk"] = target(
                ratio, f"p50 <= {TARGET_RATIO:g}x primary-key p50", ratio <= TARGET_RATIO
            )
    report("customer_search", figures, targets)


if __name__ == "__main__":
    main()
