"""Real-thread races for the concurrency tests (each racer has its own database connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs at once, one thread and one connection each; each one's result or error.

    A barrier releases them together; every job must finish within a minute (a deadlock
    PostgreSQL did not break, or a lost wake-up, fails the test instead of hanging it)."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # the test asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return results
