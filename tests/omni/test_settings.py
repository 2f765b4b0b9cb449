"""Configuration by environment variables: bad values fail at start with one line naming them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omni.env import EnvError, env_bool, env_database, env_int

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "q8#Lw2@vZ1!pR7^tY4&mN6*bC3(kS9)hJ5_gF0-dX2+eA8=uT3",
    "DJANGO_ALLOWED_HOSTS": "omni.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/omni",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "mysql://nope"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "carrier-pigeon://"}, "CELERY_BROKER_URL"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV"),
        ({"DJANGO_ENV": "production", "DJANGO_ALLOWED_HOSTS": "x"}, "DJANGO_SECRET_KEY"),
    ],
)
def test_a_bad_variable_stops_the_start_with_one_line_naming_it(env, named):
    result = manage("check", **env)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_env_readers_parse_and_reject(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "yes")
    monkeypatch.setenv("SOME_NUMBER", "12")
    monkeypatch.setenv("SOME_DB", "mysql://omni@db/omni")

    assert env_bool("SOME_FLAG", default=False) is True
    assert env_int("SOME_NUMBER", 3) == 12
    with pytest.raises(EnvError, match="SOME_DB must be a postgres:// URL"):
        env_database("SOME_DB", "postgres://unused/omni")

    monkeypatch.setenv("SOME_NUMBER", "twelve")
    with pytest.raises(EnvError, match="SOME_NUMBER must be an integer"):
        env_int("SOME_NUMBER", 3)


def test_postgresql_connections_run_without_jit_unless_the_url_says_otherwise(monkeypatch):
    monkeypatch.setenv("SOME_DB", "postgres://omni@db:5432/omni")
    assert env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]["options"] == "-c jit=off"

    monkeypatch.setenv("SOME_DB", "postgres://omni@db/omni?options=-c%20synchronous_commit%3Doff")
    options = env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]["options"]
    assert options == "-c synchronous_commit=off -c jit=off"

    monkeypatch.setenv("SOME_DB", "postgres://omni@db/omni?options=-c%20jit%3Don")
    assert env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]["options"] == "-c jit=on"


def test_the_database_connection_really_has_jit_off(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_postgresql_connections_bind_on_the_server_and_prepare_unless_the_url_says_otherwise(
    monkeypatch,
):
    monkeypatch.setenv("SOME_DB", "postgres://omni@db:5432/omni")
    options = env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5

    monkeypatch.setenv("SOME_DB", "postgres://omni@db/omni?prepare_threshold=2")
    assert env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]["prepare_threshold"] == 2

    # Behind a pooler that cannot keep prepared statements: client-side binding, nothing prepared.
    monkeypatch.setenv("SOME_DB", "postgres://omni@db/omni?server_side_binding=false")
    options = env_database("SOME_DB", "postgres://unused/omni")["OPTIONS"]
    assert options["server_side_binding"] is False
    assert "prepare_threshold" not in options


def test_a_statement_run_again_on_the_connection_is_prepared(db):
    from django.db import connection

    with connection.cursor() as cursor:
        for number in range(6):
            cursor.execute("SELECT %s::int + 1 AS omni_prepared_probe", [number])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%omni_prepared_probe%"],
        )
        assert cursor.fetchone()[0] == 1
