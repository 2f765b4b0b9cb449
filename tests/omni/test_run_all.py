"""`manage.py run_all` (what `make run` runs) on the embedded PostgreSQL: it starts the server,
migrates and seeds; a second run is refused; the demo stories pass on that server; Ctrl-C and
SIGTERM stop the web server, the worker, the scheduler and the database; the next run reuses the
data."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def postgres_running(var: Path) -> bool:
    found = subprocess.run(
        ["pgrep", "-f", f"-D {var / 'postgres' / 'data'}"], capture_output=True, text=True
    )
    return bool(found.stdout.split())


class Run:
    """One `manage.py run_all` on the embedded database of a var/ folder."""

    def __init__(self, var: Path, db_port: int, *extra: str):
        self.web_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)},
            "DJANGO_ENV": "development",
            "OMNI_VAR_DIR": str(var),
            "OMNI_EMBEDDED_PG_PORT": str(db_port),
            "CELERY_BROKER_URL": "filesystem://localhost//",
        }
        self.env.pop("CELERY_RESULT_BACKEND", None)
        self.command = [sys.executable, "manage.py", "run_all", "--workers", "1"]
        self.command += ["--bind", f"127.0.0.1:{self.web_port}", *extra]
        self.process: subprocess.Popen | None = None
        self.started: list[int] = []

    def start(self, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        up = wait_until(
            lambda: len(children(self.process.pid)) == 3 or self.process.poll() is not None,
            timeout=180,
        )
        assert up, "run_all did not start web, worker and beat"
        assert self.process.poll() is None, log.read_text()[-3000:]
        self.started = children(self.process.pid)
        assert wait_until(lambda: answers(self.web_port), timeout=60), "the web never answered"

    def stop(self, how: signal.Signals) -> None:
        self.process.send_signal(how)
        assert self.process.wait(timeout=60) == 0, self.log.read_text()[-3000:]
        wait_until(lambda: not any(alive(pid) for pid in self.started), timeout=20)
        assert not [pid for pid in self.started if alive(pid)], "a child outlived run_all"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        for pid in self.started:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)


def test_make_run_on_the_embedded_postgresql_from_start_to_stop_and_again(tmp_path):
    # Not under tmp_path: the server runs as another user (when the tests run as root), and any
    # other pytest session on the machine closes pytest's temporary folders to it again (0700).
    scratch = Path(tempfile.mkdtemp(prefix="omni-run-all-"))
    var, db_port = scratch / "var", free_port()
    var.mkdir()
    first = Run(var, db_port, "--seed-demo")
    second = Run(var, db_port)
    try:
        first.start(tmp_path / "first.log")
        database = f"postgres://postgres@127.0.0.1:{db_port}/omni"
        with psycopg.connect(database) as connection:
            customers = connection.execute("SELECT count(*) FROM customers_customer").fetchone()
        assert customers == (500,)

        refused = subprocess.run(
            second.command, cwd=ROOT, env=second.env, capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 1
        assert f"Omni is already running from {var} (pid {first.process.pid})" in refused.stderr

        # The demo stories, on the server `make run` started (their own test database there).
        stories = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/demo", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert stories.returncode == 0, stories.stdout[-3000:] + stories.stderr[-2000:]

        first.stop(signal.SIGTERM)
        assert not postgres_running(var), "the database outlived run_all"

        second.start(tmp_path / "second.log")  # the same data: migrated, seeded, no initdb
        assert "PostgreSQL (embedded) started" in second.log.read_text()
        with psycopg.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM customers_customer").fetchone() == (
                500,
            )
        second.stop(signal.SIGINT)
        assert not postgres_running(var)
    finally:  # whatever happened, leave nothing running
        first.kill()
        second.kill()
        subprocess.run(["pkill", "-f", "--", f"-D {var / 'postgres' / 'data'}"], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
