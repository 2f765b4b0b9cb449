"""Benchmark: seed_demo's customer insert against a raw COPY of the same rows, same table.

bash bench/seed.sh [--customers 100000] [--database-url postgres://.../omni_bench]
"""

from __future__ import annotations

import argparse
import io
import time

from _support import DEFAULT_URL, fresh_database, report, setup_django, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    setup_django(fresh_database(args.database_url))
    from django.db import connection

    from customers.models import Customer
    from demo import seed as demo

    stores = [loc for loc in demo.seed_locations(stores=4) if loc.is_store]

    started = time.perf_counter()
    demo.seed_customers(count=args.customers, seed=1, stores=stores)
    seed_seconds = time.perf_counter() - started
    assert Customer.objects.count() == args.customers

    table = Customer._meta.db_table
    raw = connection.connection  # psycopg 3 connection under Django's wrapper
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} TO STDOUT") as copy:
        for chunk in copy:
            buffer.write(chunk)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")

    started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    copy_seconds = time.perf_counter() - started
    assert Customer.objects.count() == args.customers

    seed_rate = args.customers / seed_seconds
    copy_rate = args.customers / copy_seconds
    ratio = seed_rate / copy_rate
    print(f"customers:            {args.customers:,}")
    print(f"seed_demo customers:  {seed_rate:,.0f} customers/s ({seed_seconds:.2f} s)")
    print(f"raw COPY, same rows:  {copy_rate:,.0f} customers/s ({copy_seconds:.2f} s)")
    print(f"ratio seed / COPY:    {ratio:.2f}")
    report(
        "seed",
        {
            "customers": args.customers,
            "seed_per_second": round(seed_rate),
            "copy_per_second": round(copy_rate),
            "seed_seconds": round(seed_seconds, 3),
            "copy_seconds": round(copy_seconds, 3),
        },
        {"seed_vs_copy": target(ratio, ">= 0.2 of COPY's rate", ratio >= 0.2)},
    )


if __name__ == "__main__":
    main()
