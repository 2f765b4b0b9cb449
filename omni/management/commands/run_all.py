"""Run Omni locally: the database, migrations, the web server, a Celery worker and beat.

With no `DATABASE_URL` the database is the embedded PostgreSQL (`omni.devservices`), started
first, under `var/postgres/`, and stopped last. Ctrl-C or SIGTERM stops everything; a second
run on the same `var/` folder is refused while one is running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from omni.devservices import EmbeddedPostgres, RunLock, ServiceError


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _ignore_stops() -> None:
    """While stopping, a second Ctrl-C or SIGTERM must not cut the clean-up short."""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_IGN)


class Command(BaseCommand):
    help = (
        "Start the embedded PostgreSQL (unless DATABASE_URL is set), migrate, optionally seed "
        "the demo, then run gunicorn, a Celery worker and Celery beat; Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OMNI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument(
            "--seed-demo", action="store_true", help="run seed_demo after migrating"
        )

    def handle(self, *args, bind: str, workers: int, seed_demo: bool, **options):
        lock = RunLock(settings.VAR_DIR / "run.lock")
        server = None
        # SIGTERM (a process manager, `kill`) and SIGINT (Ctrl-C; also when started in the
        # background, where the shell has it ignored) stop everything the same way, whenever
        # they come: during the migration too.
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, _interrupt)
        try:
            lock.acquire()
            if settings.EMBEDDED_POSTGRES:
                server = EmbeddedPostgres(
                    settings.VAR_DIR / "postgres", port=settings.EMBEDDED_PG_PORT
                )
                started = server.start()
                self.stdout.write(
                    f"PostgreSQL (embedded) {'started' if started else 'already running'} on "
                    f"127.0.0.1:{server.port}, data in {server.data}"
                )
            call_command("migrate", interactive=False, verbosity=0)
            if seed_demo:
                call_command("seed_demo")
            connections.close_all()  # the children open their own
            self._serve(bind, workers)
        except ServiceError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            _ignore_stops()
            connections.close_all()
            if server is not None:
                server.stop()
            lock.release()

    def _commands(self, bind: str, workers: int) -> dict[str, list[str]]:
        bin_dir = os.path.dirname(sys.executable)
        for folder in ("queue", "processed", "control"):
            (settings.VAR_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)
        celery = [os.path.join(bin_dir, "celery"), "-A", "omni"]
        return {
            "web": [
                *(os.path.join(bin_dir, "gunicorn"), "omni.wsgi", "--bind", bind),
                *("--workers", str(workers), "--threads", "4", "--access-logfile", "-"),
            ],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [
                *(*celery, "beat", "--loglevel", "INFO"),
                *("--schedule", str(settings.VAR_DIR / "celerybeat-schedule")),
            ],
        }

    def _serve(self, bind: str, workers: int) -> None:
        processes: dict[str, subprocess.Popen] = {}
        try:
            for name, command in self._commands(bind, workers).items():
                processes[name] = subprocess.Popen(command)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Omni is running on http://{bind}/ (web, worker, beat). Ctrl-C stops all."
                )
            )
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            dead = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped: stopping the others.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping web, worker and beat...")
        finally:
            _ignore_stops()
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
