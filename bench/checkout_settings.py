"""Settings of bench/checkout.py's gunicorn: the project's, plus a baseline endpoint that only
inserts one row (bench/checkout_urls.py). Never used outside the benchmark.

`OMNI_BENCH_WITHOUT` (comma-separated names of `PLAIN`) swaps shortcuts of the checkout's hot
path for their plain public-API form in this server, so that bench/checkout.py measures what each
one gains, with and without, alternating in one run. The swap happens on the server's first
request (every app is loaded by then) and patches module attributes only: the project's code has
no switch for it.
"""

from __future__ import annotations

import os

from django.core.signals import request_started

from omni.settings import *  # noqa: F403

ROOT_URLCONF = "checkout_urls"


def _plain_insert_together(*groups):
    """`omni.db.insert_together` through the ORM: `bulk_create` per model; a statement that
    may conflict row by row, each in a savepoint (what Django offers for "unless it exists")."""
    from django.db import IntegrityError, transaction

    written = []
    for statement, rows in groups:
        if not rows:
            written.append(0)
        elif statement.ignores_conflicts:
            count = 0
            for row in rows:
                try:
                    with transaction.atomic():
                        row.save(force_insert=True)
                    count += 1
                except IntegrityError:
                    pass
            written.append(count)
        else:
            type(rows[0])._default_manager.bulk_create(rows)
            written.append(len(rows))
    return written


# name -> [(module, attribute, replacement factory)]
PLAIN = {
    # the INSERTs written out (omni.db Insert), several models' rows in one statement
    "statements": [
        ("inventory.services._ledger", "insert_together", lambda: _plain_insert_together),
        ("orders.services.checkout", "insert_together", lambda: _plain_insert_together),
    ],
    # the checkout fills the new order's related managers (_result_cache, _prefetch_done)
    "prefetched": [("orders.services.checkout", "_prefetched", lambda: lambda *a, **k: None)],
}

_WITHOUT = [name for name in os.environ.get("OMNI_BENCH_WITHOUT", "").split(",") if name]
unknown = set(_WITHOUT) - set(PLAIN)
if unknown:
    raise SystemExit(f"OMNI_BENCH_WITHOUT: unknown {sorted(unknown)}; known: {sorted(PLAIN)}")


def _swap(**_kwargs) -> None:
    import importlib

    request_started.disconnect(_swap)
    for name in _WITHOUT:
        for module, attribute, replacement in PLAIN[name]:
            target = importlib.import_module(module)
            if not hasattr(target, attribute):
                raise SystemExit(f"OMNI_BENCH_WITHOUT={name}: {module}.{attribute} is gone")
            setattr(target, attribute, replacement())


if _WITHOUT:
    request_started.connect(_swap)
