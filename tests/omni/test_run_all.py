"""`manage.py run_all` (what `make run` ends with): stopping it stops web, worker and beat."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def answers(port: int) -> bool:
    """The web server answers /healthz (any status: it is up)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a parent that is gone) counts as stopped.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_run_all_stops_the_web_server_the_worker_and_the_scheduler(tmp_path, stop):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "OMNI_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'omni.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://localhost//",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    started: list[int] = []
    run_all = subprocess.Popen(
        [sys.executable, "manage.py", "run_all", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: len(children(run_all.pid)) == 3, timeout=60), (
            "run_all did not start web, worker and beat"
        )
        started = children(run_all.pid)
        assert wait_until(lambda: answers(port), timeout=60), "the web server never answered"
        assert run_all.poll() is None

        run_all.send_signal(stop)

        assert run_all.wait(timeout=40) is not None
        wait_until(lambda: not any(alive(pid) for pid in started), timeout=20)
        assert not [pid for pid in started if alive(pid)], "a child outlived run_all"
    finally:  # whatever happened, leave nothing running
        run_all.kill()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
