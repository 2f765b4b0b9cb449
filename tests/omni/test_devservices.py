"""The embedded PostgreSQL that `make run` and a fresh machine's `make test` use, and what it
says when it cannot start: each failure a person can meet is one line saying what to do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from omni.devservices import EmbeddedPostgres, RunLock, ServiceError, services_for_tests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_processes(data: Path) -> list[int]:
    """The pids of servers running on that data folder."""
    found = subprocess.run(["pgrep", "-f", f"-D {data}"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_the_server_starts_answers_and_stops_and_keeps_its_data(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg", port=free_port())
    try:
        assert server.start() is True
        assert server.start() is False  # already running: the same server
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute("CREATE TABLE kept (n int)")
            connection.execute("INSERT INTO kept VALUES (7)")
            assert connection.execute("SHOW server_version").fetchone()[0].startswith("18.")
            extensions = connection.execute("SELECT name FROM pg_available_extensions").fetchall()
            assert ("pg_trgm",) in extensions
    finally:
        server.stop()
    assert server.running_pid() is None
    assert postgres_processes(server.data) == []

    again = EmbeddedPostgres(tmp_path / "pg", port=server.port)
    try:
        assert again.start() is True
        with psycopg.connect(again.url) as connection:
            assert connection.execute("SELECT n FROM kept").fetchall() == [(7,)]
    finally:
        again.stop()


def test_a_taken_port_is_one_line_naming_the_port_and_the_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError) as error:
            EmbeddedPostgres(tmp_path / "pg", port=port).start()
    message = str(error.value)
    assert f"port {port}" in message
    assert "OMNI_EMBEDDED_PG_PORT" in message
    assert "\n" not in message
    assert not (tmp_path / "pg" / "data").exists()  # nothing initialised


def test_a_data_folder_of_another_major_version_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "pg" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("16\n")
    (data / "base").mkdir()

    with pytest.raises(ServiceError) as error:
        EmbeddedPostgres(tmp_path / "pg", port=free_port()).start()

    assert str(error.value).startswith(f"{data} holds PostgreSQL 16 data")
    assert "move the folder away" in str(error.value)
    assert sorted(path.name for path in data.iterdir()) == ["PG_VERSION", "base"]


def test_a_folder_that_is_not_postgresql_data_is_not_overwritten(tmp_path):
    data = tmp_path / "pg" / "data"
    data.mkdir(parents=True)
    (data / "notes.txt").write_text("mine")

    with pytest.raises(ServiceError, match="holds no PostgreSQL data: move it away"):
        EmbeddedPostgres(tmp_path / "pg", port=free_port()).start()

    assert (data / "notes.txt").read_text() == "mine"


@pytest.fixture
def tiny_disk(tmp_path) -> Path:
    """A 3 MB file system: too small for a PostgreSQL cluster."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"this machine cannot mount a small file system: {done.stderr!r}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_says_so_and_leaves_no_half_made_cluster(tiny_disk):
    with pytest.raises(ServiceError) as error:
        EmbeddedPostgres(tiny_disk / "pg", port=free_port()).start()

    assert "No space left on device: free some space" in str(error.value)
    assert not (tiny_disk / "pg" / "data").exists()


def test_a_second_run_on_the_same_folder_is_told_who_holds_it(tmp_path):
    first = RunLock(tmp_path / "run.lock")
    first.acquire()
    try:
        with pytest.raises(ServiceError) as error:
            RunLock(tmp_path / "run.lock").acquire()
        assert f"Omni is already running from {tmp_path} (pid {os.getpid()})" in str(error.value)
    finally:
        first.release()
    RunLock(tmp_path / "run.lock").acquire()  # released: the next run goes ahead


def test_make_test_uses_the_variables_already_set(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", os.environ["DATABASE_URL"])
    monkeypatch.setenv("CELERY_BROKER_URL", os.environ["CELERY_BROKER_URL"])
    with services_for_tests(tmp_path) as env:
        assert "DATABASE_URL" not in env
        assert "CELERY_BROKER_URL" not in env
    assert "PostgreSQL from DATABASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "postgres-test").exists()


def test_make_test_refuses_a_database_url_that_does_not_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"postgres://postgres@127.0.0.1:{free_port()}/omni")
    with pytest.raises(ServiceError, match="does not answer"), services_for_tests(tmp_path):
        pass


def test_make_test_provisions_postgresql_and_redis_when_none_answers(monkeypatch, tmp_path):
    """A fresh machine: nothing on 5432 or 6379 (simulated), no variables set."""
    from omni import devservices

    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("CELERY_BROKER_URL")
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    monkeypatch.setattr(devservices, "TEST_PORT", free_port())
    monkeypatch.setattr(devservices, "TEST_REDIS_PORT", free_port())
    real = devservices.port_answers
    monkeypatch.setattr(
        devservices,
        "port_answers",
        lambda host, port, timeout=1.0: port not in (5432, 6379) and real(host, port, timeout),
    )
    with services_for_tests(tmp_path) as env:
        assert env["DATABASE_URL"].endswith(f":{devservices.TEST_PORT}/omni")
        assert env["CELERY_BROKER_URL"] == f"redis://127.0.0.1:{devservices.TEST_REDIS_PORT}/15"
        with psycopg.connect(env["DATABASE_URL"]) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        pong = subprocess.run(
            ["redis-cli", "-p", str(devservices.TEST_REDIS_PORT), "ping"],
            capture_output=True,
            text=True,
        )
        assert pong.stdout.strip() == "PONG"
    assert not real("127.0.0.1", devservices.TEST_PORT)  # both stopped on the way out
    assert not real("127.0.0.1", devservices.TEST_REDIS_PORT)
    assert postgres_processes(tmp_path / "postgres-test" / "data") == []


def test_the_devservices_command_runs_its_command_and_returns_its_status():
    done = subprocess.run(
        [sys.executable, "-m", "omni.devservices", "for-tests", "--", "sh", "-c", "exit 3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    assert done.stderr.startswith("omni: the tests use ")
