"""Omni: the project package (settings, URLs, the Celery app and shared infrastructure)."""

from omni.celery import app as celery_app

__all__ = ["celery_app"]
