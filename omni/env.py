"""Read configuration from environment variables, failing at start with one clear line."""

from __future__ import annotations

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


class EnvError(ImproperlyConfigured):
    """A missing or malformed environment variable; the message names it."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or the default; raise EnvError when neither is set."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise EnvError(f"{name} is required but not set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return the variable read as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable read as an integer."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the variable split on commas, blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: str) -> dict:
    """Return a Django DATABASES entry from a PostgreSQL URL (the default when unset)."""
    raw = os.environ.get(name) or default
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise EnvError(f"{name} is not a valid database URL ({exc})") from None
    if not config.get("ENGINE", "").endswith("postgresql"):
        raise EnvError(f"{name} must be a postgres:// URL (Omni runs on PostgreSQL), got {raw!r}")
    options = config.setdefault("OPTIONS", {})
    # No JIT compilation: Omni's queries are short or one-off (a segment, a launch), and
    # compiling them cost more than running them (bench/campaign.py: a segment count 0.64 s
    # with JIT, 0.44 s without). A URL's own `?options=-c jit=on` wins.
    if "jit=" not in options.get("options", ""):
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    # Server-side parameters, and a statement a connection runs a fifth time is prepared
    # (psycopg's default threshold; Django's alone never prepares): PostgreSQL stops planning
    # the same few statements on every request. Behind PgBouncer in transaction mode this
    # needs PgBouncer >= 1.21 with max_prepared_statements set, or `?server_side_binding=false`.
    options.setdefault("server_side_binding", True)
    if options["server_side_binding"] is True:
        options.setdefault("prepare_threshold", 5)
    return config
