"""Benchmark: requests per second of the single-variant availability endpoint against a DRF
endpoint returning a constant (/api/v1/ping/), both under gunicorn, in the same run.

bench/hot_sku.py calls `availability_rps_ratio`; alone, this script seeds a fresh database:

.venv/bin/python bench/_http.py [--seconds 10] [--clients 8] [--database-url postgres://...]

Only ever talks to 127.0.0.1, and every wait is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = 2
STARTUP_SECONDS = 30
WARM_UP_REQUESTS = 20
UNTHROTTLED = "1000000000/second"
ROUNDS = 5


def _gunicorn() -> str:
    beside_python = Path(sys.executable).parent / "gunicorn"
    return str(beside_python if beside_python.exists() else ROOT / ".venv" / "bin" / "gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _get(connection: http.client.HTTPConnection, path: str) -> int:
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    return response.status


@contextmanager
def _gunicorn_server(database_url: str) -> Iterator[int]:
    """Run `gunicorn omni.wsgi` (2 sync workers, unthrottled API) and yield its port once
    /healthz answers; stop it on exit."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_ENV": "test",
        "API_THROTTLE_ANON": UNTHROTTLED,
        "API_THROTTLE_USER": UNTHROTTLED,
    }
    command = [
        _gunicorn(),
        "omni.wsgi",
        f"--bind={HOST}:{port}",
        f"--workers={WORKERS}",
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


def _wait_until_up(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            # Any answer will do: a 503 only says the broker is down, which no endpoint here uses.
            _get(connection, "/healthz")
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"gunicorn did not answer /healthz within {STARTUP_SECONDS} s")


def _load(*, port: int, path: str, seconds: float, clients: int) -> tuple[int, float]:
    """Load `path` from `clients` threads for `seconds`; every answer must be a 200. Returns the
    requests answered and the time they took."""
    counts = [0] * clients
    failures: list[str] = []
    stop_at: list[float] = []
    # The barrier's action sets the deadline before any client is released.
    start = threading.Barrier(
        clients + 1, action=lambda: stop_at.append(time.monotonic() + seconds)
    )

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            for _ in range(WARM_UP_REQUESTS):
                _get(connection, path)
            start.wait(timeout=STARTUP_SECONDS)
            while time.monotonic() < stop_at[0]:
                status = _get(connection, path)
                if status != 200:
                    failures.append(f"{path} answered {status}")
                    return
                counts[number] += 1
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
            failures.append(f"{path}: {exc!r}")
            start.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    # A client that fails while warming up breaks the barrier; its error is in `failures`.
    with suppress(threading.BrokenBarrierError):
        start.wait(timeout=STARTUP_SECONDS + 10 * WARM_UP_REQUESTS)
    for thread in threads:
        thread.join(timeout=seconds + 30)
    if failures or not stop_at:
        raise RuntimeError(f"load failed: {failures[0] if failures else 'clients did not start'}")
    elapsed = time.monotonic() - (stop_at[0] - seconds)
    return sum(counts), elapsed


def _sku(database_url: str, variant_id: int) -> str:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT sku FROM inventory_variant WHERE id = %s", [variant_id]
        ).fetchone()
    if row is None:
        raise ValueError(f"no variant {variant_id} in {database_url}")
    return row[0]


def availability_rps_ratio(
    *, database_url: str, variant_id: int, seconds: float = 10, clients: int = 8
) -> dict:
    """Requests per second of GET /api/v1/availability/<sku>/ and of GET /api/v1/ping/ under the
    same gunicorn, and their ratio.

    Each endpoint is loaded for `seconds` in all, in ROUNDS turns taken alternately, so that a
    change in the machine's load during the run weighs on both alike, not on one only.
    """
    paths = {
        "availability": f"/api/v1/availability/{_sku(database_url, variant_id)}/",
        "constant": "/api/v1/ping/",
    }
    answered = dict.fromkeys(paths, 0)
    took = dict.fromkeys(paths, 0.0)
    with _gunicorn_server(database_url) as port:
        for _ in range(ROUNDS):
            for name, path in paths.items():
                count, elapsed = _load(
                    port=port, path=path, seconds=seconds / ROUNDS, clients=clients
                )
                answered[name] += count
                took[name] += elapsed
    availability = answered["availability"] / took["availability"]
    constant = answered["constant"] / took["constant"]
    return {
        "availability_rps": round(availability, 1),
        "constant_rps": round(constant, 1),
        "ratio": round(availability / constant, 4),
    }


def _seed(database_url: str, stores: int, products: int) -> int:
    """A fresh database with stores, warehouses, a catalogue and stock; the first variant's id."""
    import random

    from _support import fresh_database, setup_django

    setup_django(fresh_database(database_url))
    from django.db import connections

    from demo import seed as demo

    rng = random.Random(1)
    locations = demo.seed_locations(stores=stores)
    variants = demo.seed_catalogue(products=products, rng=rng)
    demo.seed_stock(locations=locations, variants=variants, rng=rng)
    connections.close_all()
    return min(variant.pk for variant in variants)


def main() -> None:
    from _support import report, target

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="load time per endpoint")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--stores", type=int, default=10, help="stores to seed (at most 10)")
    parser.add_argument("--products", type=int, default=40, help="products to seed")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/omni_bench_http"
    )
    args = parser.parse_args()

    variant_id = _seed(args.database_url, args.stores, args.products)
    figures = availability_rps_ratio(
        database_url=args.database_url,
        variant_id=variant_id,
        seconds=args.seconds,
        clients=args.clients,
    )
    print(f"availability endpoint:  {figures['availability_rps']:,.0f} requests/s")
    print(f"constant endpoint:      {figures['constant_rps']:,.0f} requests/s")
    print(f"ratio:                  {figures['ratio']:.2f}")
    report(
        "http_availability",
        {**figures, "seconds": args.seconds, "clients": args.clients, "workers": WORKERS},
        {
            "availability_vs_constant": target(
                figures["ratio"], ">= 0.5 of the constant endpoint", figures["ratio"] >= 0.5
            )
        },
    )


if __name__ == "__main__":
    main()
