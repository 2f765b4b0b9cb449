"""Fixtures shared by the campaigns tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def worker_outbox(tmp_path_factory):
    """The worker process reads its settings from the environment: point it at a file sink."""
    var = tmp_path_factory.mktemp("var")
    saved = {name: os.environ.get(name) for name in ("OMNI_VAR_DIR", "OMNI_EMAIL_BACKEND")}
    os.environ.update(
        OMNI_VAR_DIR=str(var), OMNI_EMAIL_BACKEND="omni.messaging.backends.FileBackend"
    )
    yield var / "messages" / "outbox.jsonl"
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
