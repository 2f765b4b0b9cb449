"""Start the web server, a Celery worker and the beat scheduler together; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run gunicorn, a Celery worker and Celery beat; stop all three on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OMNI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")

    def handle(self, *args, bind: str, workers: int, **options):
        bin_dir = os.path.dirname(sys.executable)
        for folder in ("queue", "processed", "control"):
            (settings.VAR_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "omni.wsgi",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "omni",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "omni",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }
        # SIGTERM (a process manager, `kill`) and SIGINT (Ctrl-C; also when started in the
        # background, where the shell has it ignored) stop the three processes the same way.
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, _interrupt)
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(
            self.style.SUCCESS(
                f"Omni is running on http://{bind}/ (web, worker, beat). Ctrl-C stops all three."
            )
        )
        try:
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            dead = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped: stopping the others.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping web, worker and beat...")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
