"""Waiting in tests for something another process or thread does: poll a condition, no sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], bool], *, timeout: float, every: float = 0.05) -> bool:
    """Whether `predicate()` became true within `timeout` seconds (checked every `every`)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(every)
    return predicate()
