"""Shared by the benchmarks: a fresh PostgreSQL database, Django set up on it, the JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omni_bench"


def fresh_database(url: str = DEFAULT_URL) -> str:
    """Drop and recreate the database named in `url`, migrate it, and return the URL."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_ENV": "test"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return url


def setup_django(url: str) -> None:
    """Point Django at the benchmark database and set it up in this process."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def target(value: float, text: str, met: bool) -> dict:
    return {"value": round(value, 4), "target": text, "met": bool(met)}


def report(name: str, figures: dict, targets: dict) -> None:
    """Print the one JSON line every benchmark ends with."""
    print(json.dumps({"bench": name, "figures": figures, "targets": targets}))
