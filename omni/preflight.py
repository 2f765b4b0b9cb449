"""Check that the services a command needs answer, and say in one line what to start if not.

python -m omni.preflight postgres redis
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlsplit

HINTS = {
    "postgres": "start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect "
    "$(ls /etc/postgresql) main start) or set DATABASE_URL",
    "redis": "start Redis (redis-server --daemonize yes --port 6379) or set CELERY_BROKER_URL",
}
DEFAULTS = {
    "postgres": ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni", 5432),
    "redis": ("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0", 6379),
}


def reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check(service: str) -> str | None:
    """Return an error line if the service is not reachable, else None."""
    variable, default, default_port = DEFAULTS[service]
    url = os.environ.get(variable) or default
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    if reachable(host, port):
        return None
    return f"{service} is not reachable at {host}:{port} ({variable}): {HINTS[service]}."


def main(argv: list[str]) -> int:
    errors = [error for service in argv for error in [check(service)] if error]
    for error in errors:
        print(f"omni: {error}", file=sys.stderr)  # noqa: T201
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
