"""The demo stories pass on PostgreSQL as `make run` runs them: tests/demo/stories.py, in a
subprocess, on a fresh database of the suite's own server (migrate, seed_demo, then every write
path of the demo through the API, the staff screens and the services).

No pytest-django database here (no `django_db` mark): the test creates its own database with
psycopg, named per run so that pytest-xdist workers and parallel runs on one server never share
it, and drops it afterwards. The server is the suite's, read from the settings (DATABASE_URL): the
one `make test` uses, or the embedded PostgreSQL of tests/omni/test_run_all.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from django.conf import settings
from psycopg import sql

STORIES = Path(__file__).with_name("stories.py")


def server() -> dict[str, str]:
    """The suite's PostgreSQL server, as psycopg connection parameters (no database name)."""
    database = settings.DATABASES["default"]
    params = {
        "host": database.get("HOST") or "",
        "port": str(database.get("PORT") or ""),
        "user": database.get("USER") or "",
        "password": database.get("PASSWORD") or "",
    }
    return {key: value for key, value in params.items() if value}


def database_url(name: str) -> str:
    """DATABASE_URL for database `name` on the suite's server: the suite's own URL with another
    path (its options kept), or one built from the settings when there is none."""
    suite = os.environ.get("DATABASE_URL")
    if suite:
        parts = urlsplit(suite)
        return urlunsplit(parts._replace(path=f"/{name}"))
    params = server()
    host = params.get("host", "")
    host = quote(host, safe="") if host.startswith("/") else f"[{host}]" if ":" in host else host
    user = quote(params.get("user", ""), safe="")
    password = f":{quote(params['password'], safe='')}" if "password" in params else ""
    port = f":{params['port']}" if "port" in params else ""
    return f"postgres://{user}{password}@{host}{port}/{name}"


def drop(name: str) -> str | None:
    """Drop database `name` (its sessions ended first); the error, if that failed."""
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **server()) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as error:
        return f"{type(error).__name__}: {error}"
    return None


def test_the_demo_stories_pass_on_a_fresh_postgresql_database():
    name = f"omni_demo_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # Not tmp_path: see tests/demo/test_seed_demo.py's var_dir (the embedded server's data).
    var = tempfile.TemporaryDirectory(prefix="omni-demo-stories-")
    with psycopg.connect(dbname="postgres", autocommit=True, **server()) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"CACHE_URL", "OMNI_MESSAGING_FILE"}
        }
        env["DATABASE_URL"] = database_url(name)
        env["OMNI_VAR_DIR"] = var.name  # the demo campaign's outbox, static files

        done = subprocess.run(
            [sys.executable, str(STORIES)],
            env=env,
            cwd=STORIES.parents[2],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        # Whatever happened; a failed drop is told after the stories' own output.
        dropped = drop(name)
        var.cleanup()

    summary = re.search(r"(\d+) of (\d+) flows pass", done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-12000:]
    assert summary is not None, done.stdout[-3000:]
    passed, ran = int(summary[1]), int(summary[2])
    assert passed == ran, summary[0]
    assert ran >= 15, summary[0]
    assert dropped is None, f"{name} was not dropped: {dropped}"
