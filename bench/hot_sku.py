"""Benchmark: N client processes reserving one unit at a time through `stock_reserve`.

Three runs on one fresh database, each for --seconds with --clients processes (in ROUNDS turns,
taken alternately, so that a change in the machine's load weighs on all three alike):
  service_hot    every client reserves the same hot SKU through inventory.services.stock_reserve
  raw_hot        the floor: one conditional UPDATE plus the ledger INSERT per reservation, raw
                 psycopg, same tables, another hot SKU
  service_spread the service again, clients spread over 1,000 SKUs
It prints reservations per second for each, the ratios, the p99 time a stock row stays locked
(in the client: from the locking statement's return to the commit's), and the oversold count
(rows with reserved above on hand, or whose quantities differ from their ledger sums). If
bench/_http.py is there, the availability endpoint is also measured under gunicorn against a
constant DRF endpoint.

.venv/bin/python bench/hot_sku.py [--clients 16] [--seconds 10] [--database-url ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import random
import statistics
import time
from decimal import Decimal

from _support import DEFAULT_URL, fresh_database, report, setup_django, target

SPREAD_SKUS = 1_000
# Each run takes --seconds in all, in this many turns alternating with the other runs.
ROUNDS = 2
PLENTY = 10_000_000

RAW_UPDATE = (
    "UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now() "
    "WHERE id = %s AND on_hand - reserved >= 1"
)
RAW_LEDGER = (
    "INSERT INTO inventory_stockmovement (variant_id, location_id, kind, on_hand_delta, "
    "reserved_delta, reason, reference, performed_by_id, created_at) "
    "VALUES (%s, %s, 'reservation', 0, 1, '', %s, NULL, now())"
)


def seed() -> dict:
    """One store, two hot SKUs (service, raw) and 1,000 spread SKUs, all with plenty of stock."""
    from inventory import services
    from inventory.models import Category, Location, LocationKind, Product, StockLevel, Variant

    store = Location.objects.create(
        code="BENCH", name="Bench store", kind=LocationKind.STORE, click_and_collect=True
    )
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(reference="BENCH", name="Bench", category=category)
    Variant.objects.bulk_create(
        Variant(product=product, sku=f"BENCH-{n:05d}", name=f"Bench {n}", price=Decimal("10"))
        for n in range(SPREAD_SKUS + 2)
    )
    variant_ids = list(Variant.objects.order_by("pk").values_list("pk", flat=True))
    services.stock_initialise(
        location=store,
        lines=[services.StockLine(variant_id, PLENTY) for variant_id in variant_ids],
        reference="bench",
    )
    raw_level = StockLevel.objects.get(variant_id=variant_ids[1], location=store).pk
    return {
        "location_id": store.pk,
        "service_hot": variant_ids[:1],
        "raw_hot": variant_ids[1],
        "raw_level_id": raw_level,
        "service_spread": variant_ids[2:],
    }


def service_client(index: int, plan: dict, variant_ids: list[int], start, results) -> None:
    """Reserve one unit at a time of a random variant among `variant_ids` until time is up."""
    from django.db import connection

    from inventory import services
    from inventory.exceptions import InsufficientStock
    from inventory.models import Location

    location = Location.objects.get(pk=plan["location_id"])
    rng = random.Random(index)
    locked_at = [0.0]

    def note_lock(execute, sql, params, many, context):
        outcome = execute(sql, params, many, context)
        # The first statement of the call that locks a stock row: a SELECT ... FOR UPDATE or
        # the conditional UPDATE, whichever the service uses.
        if not locked_at[0] and ("FOR UPDATE" in sql or "UPDATE inventory_stocklevel" in sql):
            locked_at[0] = time.perf_counter()
        return outcome

    holds, done, short = [], 0, 0
    with connection.execute_wrapper(note_lock):
        start.wait()
        deadline = time.perf_counter() + plan["seconds"]
        while time.perf_counter() < deadline:
            line = services.StockLine(variant_ids[rng.randrange(len(variant_ids))], 1)
            locked_at[0] = 0.0
            try:
                services.stock_reserve(
                    location=location, lines=[line], reference=f"bench-{index}-{done}"
                )
            except InsufficientStock:
                short += 1
                continue
            holds.append(time.perf_counter() - locked_at[0])
            done += 1
    connection.close()
    results.put((done, short, holds))


def raw_client(index: int, plan: dict, _variant_ids: list[int], start, results) -> None:
    """The floor: conditional UPDATE and ledger INSERT in one transaction, raw psycopg."""
    import psycopg

    holds, done, short = [], 0, 0
    with psycopg.connect(plan["database_url"]) as conn:
        start.wait()
        deadline = time.perf_counter() + plan["seconds"]
        while time.perf_counter() < deadline:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(RAW_UPDATE, (plan["raw_level_id"],))
                locked = time.perf_counter()
                reserved = cursor.rowcount == 1
                if reserved:
                    cursor.execute(
                        RAW_LEDGER, (plan["raw_hot"], plan["location_id"], f"raw-{index}-{done}")
                    )
            if not reserved:
                short += 1
                continue
            holds.append(time.perf_counter() - locked)
            done += 1
    results.put((done, short, holds))


def _one_round(client, variant_ids: list[int], plan: dict) -> list[tuple]:
    """Run `clients` processes of `client` together for `plan["seconds"]`; their outcomes."""
    from django.db import connections

    connections.close_all()  # forked children open their own connections
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(plan["clients"]), context.Queue()
    processes = [
        context.Process(target=client, args=(index, plan, variant_ids, start, results))
        for index in range(plan["clients"])
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=plan["seconds"] + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return outcomes


def run_alternately(runs: dict[str, tuple], plan: dict) -> dict[str, dict]:
    """Run each of `runs` (name: client, variant ids) for `plan["seconds"]` in all, in ROUNDS
    turns taken one after the other, so that a change in the machine's load during the run
    weighs on every figure alike; return the rate and lock-hold figures of each."""
    outcomes: dict[str, list] = {name: [] for name in runs}
    turn = {**plan, "seconds": plan["seconds"] / ROUNDS}
    for _ in range(ROUNDS):
        for name, (client, variant_ids) in runs.items():
            outcomes[name] += _one_round(client, variant_ids, turn)
    return {name: _figures(name, found, plan["seconds"]) for name, found in outcomes.items()}


def _figures(name: str, outcomes: list[tuple], seconds: float) -> dict:
    done = sum(outcome[0] for outcome in outcomes)
    holds = sorted(hold for outcome in outcomes for hold in outcome[2])
    p99 = statistics.quantiles(holds, n=100)[98] if len(holds) > 1 else 0.0
    figures = {
        "reservations": done,
        "insufficient": sum(outcome[1] for outcome in outcomes),
        "per_second": round(done / seconds, 1),
        "lock_p99_ms": round(p99 * 1000, 3),
        "lock_median_ms": round(statistics.median(holds) * 1000, 3) if holds else 0.0,
    }
    print(
        f"{name:15} {figures['per_second']:>10,.0f} reservations/s   "
        f"lock held p99 {figures['lock_p99_ms']:.2f} ms (median {figures['lock_median_ms']:.2f})"
    )
    return figures


def oversold() -> int:
    """Stock rows holding more than they have, or whose quantities are not their ledger's sums."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM inventory_stocklevel level
            LEFT JOIN (
                SELECT variant_id, location_id, sum(on_hand_delta) AS on_hand,
                       sum(reserved_delta) AS reserved
                FROM inventory_stockmovement GROUP BY variant_id, location_id
            ) ledger USING (variant_id, location_id)
            WHERE level.reserved > level.on_hand OR level.on_hand < 0
               OR level.on_hand IS DISTINCT FROM ledger.on_hand
               OR level.reserved IS DISTINCT FROM ledger.reserved
            """
        )
        return cursor.fetchone()[0]


def availability(url: str, variant_id: int, seconds: float) -> dict | None:
    """The availability endpoint against a constant endpoint, when bench/_http.py exists."""
    if importlib.util.find_spec("_http") is None:
        print("availability:   bench/_http.py is not there yet: skipped")
        return None
    import _http

    figures = _http.availability_rps_ratio(
        database_url=url, variant_id=variant_id, seconds=seconds, clients=8
    )
    print(
        f"availability:   {figures['availability_rps']:,.0f} req/s against a constant "
        f"{figures['constant_rps']:,.0f} req/s (ratio {figures['ratio']:.2f})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    setup_django(url)
    plan = {**seed(), "clients": args.clients, "seconds": args.seconds, "database_url": url}

    print(f"clients: {args.clients}, {args.seconds:g} s per run")
    runs = run_alternately(
        {
            "service_hot": (service_client, plan["service_hot"]),
            "raw_hot": (raw_client, []),
            "service_spread": (service_client, plan["service_spread"]),
        },
        plan,
    )
    service_hot, raw_hot, service_spread = (
        runs["service_hot"],
        runs["raw_hot"],
        runs["service_spread"],
    )
    oversold_rows = oversold()
    hot_ratio = service_hot["per_second"] / max(raw_hot["per_second"], 1e-9)
    spread_ratio = service_spread["per_second"] / max(raw_hot["per_second"], 1e-9)
    print(f"service / raw, hot SKU:      {hot_ratio:.2f}")
    print(f"service spread / raw hot:    {spread_ratio:.2f}")
    print(f"oversold rows:               {oversold_rows}")
    http = availability(url, plan["service_hot"][0], args.seconds)

    targets = {
        "service_vs_raw_hot": target(hot_ratio, ">= 0.5 of the raw UPDATE", hot_ratio >= 0.5),
        "oversold": target(oversold_rows, "0", oversold_rows == 0),
        "availability_vs_constant": (
            target(http["ratio"], ">= 0.5 of a constant DRF endpoint", http["ratio"] >= 0.5)
            if http
            else {"value": None, "target": ">= 0.5", "met": False, "note": "no bench/_http.py"}
        ),
    }
    report(
        "hot_sku",
        {
            "clients": args.clients,
            "seconds": args.seconds,
            "service_hot": service_hot,
            "raw_hot": raw_hot,
            "service_spread": service_spread,
            "service_vs_raw_hot": round(hot_ratio, 3),
            "service_spread_vs_raw_hot": round(spread_ratio, 3),
            "oversold": oversold_rows,
            "availability": http,
        },
        targets,
    )


if __name__ == "__main__":
    main()
