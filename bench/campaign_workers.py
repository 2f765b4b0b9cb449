"""bench/campaign.py's Celery side: real worker processes on the run's own Redis queue."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


@contextmanager
def celery_workers(database_url: str, *, concurrency: int) -> Iterator[None]:
    """One prefork worker with `concurrency` processes on CELERY_TASK_DEFAULT_QUEUE; ready."""
    from omni.celery import app

    queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]),
    }
    name = f"{queue}@%h"
    command = [sys.executable, "-m", "celery", "-A", "omni", "worker", "--pool=prefork"]
    command += [f"--concurrency={concurrency}", "-Q", queue, "-n", name]
    command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        for _attempt in range(60):
            replies = app.control.ping(timeout=1.0)
            if any(queue in next(iter(reply)) for reply in replies):
                break
            if worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {worker.returncode}")
        else:
            raise RuntimeError("the Celery worker did not answer a ping within a minute")
        yield
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the children finish their task
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def wait_until_finished(campaign_id: int, *, timeout: float) -> dt.datetime:
    """Poll until the campaign's run is finished (every message sent, failed or skipped)."""
    from campaigns.models import Campaign, CampaignStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        campaign = Campaign.objects.get(pk=campaign_id)
        if campaign.status != CampaignStatus.SENDING and campaign.finished_at:
            return campaign.finished_at
        time.sleep(0.2)
    raise RuntimeError(f"the campaign was still sending after {timeout:.0f} s")


def drop_queue(broker_url: str, queue: str) -> None:
    """Empty the run's queue (Redis drops an empty list); nothing in it is left to do."""
    from omni.celery import app

    with app.connection_for_write(broker_url) as connection:
        connection.default_channel.queue_purge(queue)
