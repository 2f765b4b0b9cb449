"""Benchmark: concurrent API checkouts under gunicorn against a DRF endpoint inserting one row.

In one run, on a fresh database: --clients threads post click-and-collect checkouts
(POST /api/v1/me/checkout/, each with its own customer, cart and Idempotency-Key) to gunicorn
with --workers sync workers, and the same clients post to POST /bench/insert-one/ (same customer
authentication, one INSERT; served by bench/checkout_settings.py, which adds it to the project's
URLs), --seconds each. The two loads alternate in --rounds slices (checkout, insert, checkout,
...), so a machine shared with other work slows both alike: one 10 s window each swung the
ratio from 0.11 to 0.30 between two runs of the same code. Prints checkouts per second, the
ratio (target >= 0.25), and the query count of one `order_checkout` for carts of 1, 10 and 50
lines (target <= 40, the same for all three).

With --without (default: each shortcut of bench/checkout_settings.py's PLAIN in turn, then all of
them together), one more gunicorn per entry serves the same checkouts with those shortcuts
swapped for their plain public-API form, loaded in the same alternation: the run prints what each
shortcut gains end to end (checkouts per second with it / without it), per round and overall, so
a gain can be told from the noise. `--without none` measures the ratio alone.

Confirmations are queued as in production, to Redis (--broker-url), on a queue of the run's
own that nobody consumes and that is deleted at the end. (A file-system broker writes a file per
message inside the request, which production never does.)

.venv/bin/python bench/checkout.py [--workers 2] [--clients 8] [--seconds 10] [--rounds 5]
                                   [--without each|none|NAME[+NAME...][,...]]
                                   [--database-url postgres://...] [--broker-url redis://...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

from _http import HOST, UNTHROTTLED, _free_port, _gunicorn, _wait_until_up
from _support import fresh_database, report, setup_django, target

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/omni_bench_checkout"
DEFAULT_BROKER = "redis://127.0.0.1:6379/15"
PRICE = Decimal("10.00")
PLENTY = 10_000_000
CARTS_PER_CLIENT = 3_000  # more than a client can check out in a run
QUERY_SIZES = (1, 10, 50)


def seed(clients: int) -> dict:
    """A click-and-collect store with plenty of stock, and carts of one line, per client."""
    from customers.auth import customer_token
    from customers.models import Channel, Customer
    from inventory import services
    from inventory.models import Category, Location, LocationKind, Product, Variant
    from orders.models import Cart, CartLine

    store = Location.objects.create(
        code="BENCH",
        name="Bench store",
        kind=LocationKind.STORE,
        click_and_collect=True,
        opening_hours={str(day): ["00:00", "23:59"] for day in range(7)},
        pickup_preparation_minutes=0,
    )
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(reference="BENCH", name="Bench", category=category)
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"BENCH-{n:03d}", name=f"Bench {n}", price=PRICE)
        for n in range(max(QUERY_SIZES))
    )
    services.stock_initialise(
        location=store,
        lines=[services.StockLine(variant.pk, PLENTY) for variant in variants],
        reference="bench",
    )
    customers = Customer.objects.bulk_create(
        Customer(first_name="Bench", last_name=str(n), created_channel=Channel.WEB)
        for n in range(clients * CARTS_PER_CLIENT)
    )
    carts = Cart.objects.bulk_create(Cart(customer=c, channel=Channel.WEB) for c in customers)
    CartLine.objects.bulk_create(
        CartLine(
            cart=cart,
            variant=variants[index % len(variants)],
            quantity=1,
            unit_price_seen=PRICE,
            currency="EUR",
            added_channel=Channel.WEB,
        )
        for index, cart in enumerate(carts)
    )
    tokens = [customer_token(customer=customer) for customer in customers]
    return {
        "store": store,
        "variants": variants,
        "tokens": [tokens[n::clients] for n in range(clients)],
    }


def checkout_queries(store, variants) -> dict[int, int]:
    """Queries of one click-and-collect `order_checkout`, per cart size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.models import Channel, Customer
    from orders.checkout import PaymentInfo, PickupChoice
    from orders.models import Cart, CartLine
    from orders.services import order_checkout

    counts = {}
    for size in QUERY_SIZES:
        customer = Customer.objects.create(first_name="Queries", created_channel=Channel.WEB)
        cart = Cart.objects.create(customer=customer, channel=Channel.WEB)
        CartLine.objects.bulk_create(
            CartLine(
                cart=cart,
                variant=variant,
                quantity=1,
                unit_price_seen=PRICE,
                currency="EUR",
                added_channel=Channel.WEB,
            )
            for variant in variants[:size]
        )
        payment = PaymentInfo("bench", f"queries-{size}", "captured", PRICE * size)
        with CaptureQueriesContext(connection) as queries:
            order_checkout(
                cart=cart,
                channel=Channel.WEB,
                fulfilment=PickupChoice(store=store),
                payment=payment,
            )
        counts[size] = len(queries)
    return counts


@contextmanager
def gunicorn(database_url: str, workers: int, without: str = "") -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "OMNI_BENCH_WITHOUT": without,
        "DATABASE_URL": database_url,
        "DJANGO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "checkout_settings",
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]),
        "API_THROTTLE_ANON": UNTHROTTLED,
        "API_THROTTLE_USER": UNTHROTTLED,
    }
    command = [
        _gunicorn(),
        "omni.wsgi",
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait_until_up(server, port)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def checkout_body() -> bytes:
    """A click-and-collect checkout at the bench store, paid with a reference of its own."""
    payment = {
        "provider": "bench",
        "reference": uuid.uuid4().hex,
        "status": "authorised",
        "amount": str(PRICE),
    }
    return json.dumps(
        {"fulfilment": {"type": "pickup", "store": "BENCH"}, "payment": payment}
    ).encode()


def _post(connection: http.client.HTTPConnection, path: str, token: str, body: bytes) -> int:
    connection.request(
        "POST",
        path,
        body=body,
        headers={
            "Authorization": f"Customer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    response = connection.getresponse()
    response.read()
    return response.status


def posted(
    *, port: int, path: str, body: Callable[[], bytes], tokens: list[Iterator[str]], seconds: float
) -> int:
    """Post from one thread per token iterator for `seconds`; every answer must be a 201.

    Returns how many were posted. The iterators carry on where the last call stopped, so a cart
    is checked out once across rounds."""
    counts = [0] * len(tokens)
    failures: list[str] = []
    stop_at: list[float] = []
    start = threading.Barrier(
        len(tokens) + 1, action=lambda: stop_at.append(time.monotonic() + seconds)
    )

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            start.wait(timeout=30)
            for token in tokens[number]:
                if time.monotonic() >= stop_at[0]:
                    return
                status = _post(connection, path, token, body())
                if status != 201:
                    failures.append(f"{path} answered {status}")
                    return
                counts[number] += 1
            failures.append("a client ran out of carts: raise CARTS_PER_CLIENT")
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
            failures.append(f"{path}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    start.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=seconds + 60)
    if failures:
        raise RuntimeError(f"load failed: {failures[0]}")
    return sum(counts)


def alternated(
    *, ports: dict[str, int], tokens: list[list[str]], seconds: float, rounds: int
) -> tuple[dict[str, list[int]], list[int]]:
    """Checkouts posted to each server of `ports` (label -> port), then insert-one posts, each
    loaded `seconds` in `rounds` slices, in turn. Returns the counts per round: checkouts per
    label, and inserts."""
    carts = [iter(batch) for batch in tokens]
    slice_seconds = seconds / rounds
    checkouts: dict[str, list[int]] = {label: [] for label in ports}
    inserts: list[int] = []
    for _round in range(rounds):
        for label, port in ports.items():
            checkouts[label].append(
                posted(
                    port=port,
                    path="/api/v1/me/checkout/",
                    body=checkout_body,
                    tokens=carts,
                    seconds=slice_seconds,
                )
            )
        inserts.append(
            posted(
                port=ports[FULL],
                path="/bench/insert-one/",
                body=lambda: b"{}",
                tokens=[iter(batch) for batch in tokens],
                seconds=slice_seconds,
            )
        )
    return checkouts, inserts


FULL = "as shipped"


def without_sets(option: str) -> list[tuple[str, str]]:
    """(label, OMNI_BENCH_WITHOUT value) of each extra server `--without` asks for."""
    sys.path.insert(0, str(BENCH_DIR))
    from checkout_settings import PLAIN

    if option == "none":
        return []
    if option == "each":
        return [(f"without {name}", name) for name in PLAIN] + [("without all", ",".join(PLAIN))]
    sets = [entry.split("+") for entry in option.split(",") if entry]
    unknown = {name for entry in sets for name in entry} - set(PLAIN)
    if unknown:
        raise SystemExit(f"--without: unknown {sorted(unknown)}; known: {sorted(PLAIN)}")
    return [(f"without {'+'.join(entry)}", ",".join(entry)) for entry in sets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--seconds", type=float, default=10, help="load time per endpoint")
    parser.add_argument("--rounds", type=int, default=5, help="slices the loads alternate in")
    parser.add_argument(
        "--without",
        default="each",
        help="shortcuts to measure: each (default), none, or NAME[+NAME] entries, comma-separated",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--broker-url", default=DEFAULT_BROKER, help="a redis:// URL")
    args = parser.parse_args()

    queue = f"omni-bench-checkout-{uuid.uuid4().hex[:8]}"
    os.environ.update({"CELERY_BROKER_URL": args.broker_url, "CELERY_TASK_DEFAULT_QUEUE": queue})
    try:
        run(args)
    finally:
        _drop_queue(args.broker_url, queue)


def _drop_queue(broker_url: str, queue: str) -> None:
    """Empty the run's queue (Redis drops an empty list): its messages were never to be sent.

    Not `queue_delete`: kombu's Redis transport deletes only queues bound in this process, and
    the gunicorn workers did the publishing."""
    from omni.celery import app

    with app.connection_for_write(broker_url) as connection:
        connection.default_channel.queue_purge(queue)


def run(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url  # before checkout_settings reads the settings
    extra = without_sets(args.without)
    setup_django(fresh_database(args.database_url))
    from django.db import connections

    seeded = seed(args.clients)
    queries = checkout_queries(seeded["store"], seeded["variants"])
    connections.close_all()
    with ExitStack() as servers:
        ports = {FULL: servers.enter_context(gunicorn(args.database_url, args.workers))}
        for label, without in extra:
            ports[label] = servers.enter_context(gunicorn(args.database_url, args.workers, without))
        counts, insert_counts = alternated(
            ports=ports, tokens=seeded["tokens"], seconds=args.seconds, rounds=args.rounds
        )
    checkouts = sum(counts[FULL]) / args.seconds
    inserts = sum(insert_counts) / args.seconds
    ratio = checkouts / inserts
    flat = len(set(queries.values())) == 1
    print(f"checkouts:            {checkouts:,.1f} per second")
    print(f"insert-one baseline:  {inserts:,.1f} per second")
    print(f"ratio:                {ratio:.2f} (target >= 0.25)")
    for size, count in queries.items():
        print(f"queries, {size:>2} lines:    {count}")
    gains = {}
    for label, rounds in counts.items():
        if label == FULL:
            continue
        per_round = [full / max(other, 1) for full, other in zip(counts[FULL], rounds, strict=True)]
        gain = sum(counts[FULL]) / max(sum(rounds), 1)
        gains[label] = {
            "gain": round(gain, 3),
            "rounds_min": round(min(per_round), 3),
            "rounds_max": round(max(per_round), 3),
            "checkouts_per_second": round(sum(rounds) / args.seconds, 1),
        }
        print(
            f"{label}: {sum(rounds) / args.seconds:,.1f} per second; as shipped gains "
            f"{gain:.3f}x (rounds {min(per_round):.3f}-{max(per_round):.3f})"
        )
    report(
        "checkout",
        {
            "checkouts_per_second": round(checkouts, 1),
            "insert_one_per_second": round(inserts, 1),
            "ratio": round(ratio, 4),
            "ratio_rounds": [
                round(c / max(i, 1), 3) for c, i in zip(counts[FULL], insert_counts, strict=True)
            ],
            "queries": {str(size): count for size, count in queries.items()},
            "shortcut_gains": gains,
            "workers": args.workers,
            "clients": args.clients,
            "seconds": args.seconds,
            "rounds": args.rounds,
        },
        {
            "checkout_vs_insert_one": target(ratio, ">= 0.25", ratio >= 0.25),
            "queries_per_checkout": target(
                max(queries.values()),
                "<= 40 and the same for 1, 10 and 50 lines",
                max(queries.values()) <= 40 and flat,
            ),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
