"""Real Celery workers a test starts, kills and restarts itself (tests/conftest.py has the
module-wide one): each gets the test database, the test's queue and extra environment."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from omni.celery import app as celery_app
from tests.conftest import ROOT


def worker_environment(*, queue: str, **extra: str) -> dict[str, str]:
    """The worker's environment. Its commits do not wait for the disk (synchronous_commit off):
    these tests kill workers, not PostgreSQL, and a committed row is just as visible, so what
    they prove holds, about twice as fast on a loaded machine (one commit per message sent)."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}?options=-c%20synchronous_commit%3Doff",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **extra,
    }


@contextlib.contextmanager
def celery_worker(*, queue: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Start a worker (solo pool) consuming `queue`, wait until it answers a ping, yield the
    process; stop it on the way out unless the test already killed it."""
    name = f"{queue}-{os.urandom(3).hex()}@{os.uname().nodename}"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "omni", "worker", "--pool=solo"),
            *("-Q", queue, "--without-gossip", "--without-mingle", "--loglevel=WARNING"),
            *("-n", name),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        replies = None
        for _attempt in range(60):
            replies = celery_app.control.ping(destination=[name], timeout=0.5)
            if replies or worker.poll() is not None:
                break
        if not replies:
            pytest.fail("the Celery worker did not start (is Redis running on 127.0.0.1:6379?)")
        yield worker
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def broker() -> redis.Redis:
    return redis.Redis.from_url(celery_app.conf.broker_url)


def unacknowledged_tasks(queue: str) -> list[str]:
    """Names of the tasks taken from `queue` and not acknowledged (kombu's Redis bookkeeping of
    acks_late: a worker that died leaves its task here until the visibility timeout)."""
    names = []
    for payload in broker().hvals("unacked"):
        message, _exchange, routing_key = json.loads(payload)
        if routing_key == queue:
            names.append(message["headers"]["task"])
    return names


def forget_queue(queue: str) -> None:
    """Drop what is left of the test's queue in Redis (tasks queued but never consumed)."""
    client = broker()
    for tag, payload in client.hgetall("unacked").items():
        if json.loads(payload)[2] == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    # kombu keeps one list per priority step, and the queue's bindings.
    leftovers = [*client.scan_iter(f"{queue}*"), *client.scan_iter(f"_kombu.binding*.{queue}")]
    if leftovers:
        client.delete(*leftovers)
