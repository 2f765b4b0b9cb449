"""Fixtures shared by the whole suite. The suite runs on PostgreSQL only (see `make test`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.servers import basehttp
from hypothesis import settings as hypothesis_settings

from omni import roles

ROOT = Path(__file__).resolve().parent.parent

# The live server's listen backlog is 10 connections: concurrency tests open 25 or more at once
# and the kernel would reset the rest ("Connection reset by peer"). A real server (gunicorn)
# has a backlog of 2048; give the test server a realistic one.
basehttp.WSGIServer.request_queue_size = 128

# The property tests replay the same examples on every run, so a red CI is reproducible and not a
# draw of the dice; HYPOTHESIS_PROFILE=explore draws new ones, ten times as many, to look further.
hypothesis_settings.register_profile("suite", max_examples=30, derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", max_examples=300, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def pytest_configure(config: pytest.Config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        pytest.exit("the suite runs on PostgreSQL: use `make test` (or set DATABASE_URL)", 2)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """API throttle counters live in the cache: start every test with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_staff(django_user_model) -> Callable[..., object]:
    """Create a staff user with one role and, optionally, the stores she works at."""

    def make(role: roles.Role | None, *, stores=(), username: str | None = None, **extra):
        from inventory.models import StaffProfile

        user = django_user_model.objects.create_user(
            username=username or f"{role.name if role else 'nobody'}-{uuid.uuid4().hex[:6]}",
            password="pass-Word-1",
            **extra,
        )
        if role is not None:
            user.groups.add(Group.objects.get(name=role.name))
        profile = StaffProfile.objects.create(user=user)
        if stores:
            profile.stores.set(stores)
            profile.default_store = stores[0]
            profile.save(update_fields=["default_store"])
        return user

    return make


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup) -> Iterator[str]:
    """Start a real Celery worker (solo pool) on Redis and its own queue, once per module; yield
    the queue name.

    The worker connects to the test database, so tests whose tasks read rows must commit them
    (`django_db(transaction=True)`).
    """
    from omni.celery import app as celery_app

    if not celery_app.conf.broker_url.startswith("redis://"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://...: run them with `make test`")

    queue = f"omni-test-{uuid.uuid4().hex[:8]}"
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omni",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        replies = None
        for _attempt in range(60):
            replies = celery_app.control.ping(
                destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5
            )
            if replies or worker.poll() is not None:
                break
        if not replies:
            pytest.fail("the Celery worker did not start (is Redis running on 127.0.0.1:6379?)")
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous_queue
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
