"""Channel backends: e-mail through Django's mail backends, console and file sinks for
development and tests, an HTTP backend for an SMS or push provider, and a null backend."""

from __future__ import annotations

import fcntl
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from omni.messaging.base import BaseBackend, DeliveryResult, DeliveryStatus, OutgoingMessage

logger = logging.getLogger(__name__)


class EmailBackend(BaseBackend):
    """Sends e-mail through Django's configured EMAIL_BACKEND (SMTP, console, file...)."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            to=[message.to],
            from_email=settings.DEFAULT_FROM_EMAIL,
            headers={"X-Omni-Message-Key": message.idempotency_key, **message.headers},
            connection=get_connection(fail_silently=False),
        )
        if message.html_body:
            email.attach_alternative(message.html_body, "text/html")
        try:
            email.send()
        except OSError as exc:  # SMTP and socket errors: the server may come back
            return DeliveryResult(DeliveryStatus.RETRY, error=str(exc))
        return DeliveryResult(DeliveryStatus.SENT, provider_id=message.idempotency_key)


class ConsoleBackend(BaseBackend):
    """Prints each message: for `make run`."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        sys.stdout.write(
            f"[{message.channel} to {message.to}] {message.subject}\n{message.body}\n"
            f"(key {message.idempotency_key})\n"
        )
        return DeliveryResult(DeliveryStatus.SENT, provider_id=message.idempotency_key)


class FileBackend(BaseBackend):
    """Appends each message as one JSON line to a file: a sink tests and demos can count."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        path = Path(self.options.get("path") or settings.VAR_DIR / "messages" / "outbox.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "channel": message.channel,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
                "key": message.idempotency_key,
                "at": timezone.now().isoformat(),
            }
        )
        with path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # several worker processes append to one file
            handle.write(line + "\n")
        return DeliveryResult(DeliveryStatus.SENT, provider_id=message.idempotency_key)


class NullBackend(BaseBackend):
    """Accepts and drops every message: for benchmarks of the pipeline around sending."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        return DeliveryResult(DeliveryStatus.SENT, provider_id=message.idempotency_key)


class HttpBackend(BaseBackend):
    """Posts the message as JSON to a provider (options: url, token, timeout).

    The idempotency key travels in an Idempotency-Key header so a provider drops a resend.
    5xx answers and network errors are transient (retry); 4xx are permanent (failed).
    """

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        payload = json.dumps(
            {"to": message.to, "subject": message.subject, "body": message.body}
        ).encode()
        request = urllib.request.Request(
            self.options["url"],
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.options.get('token', '')}",
                "Idempotency-Key": message.idempotency_key,
            },
        )
        timeout = self.options.get("timeout", 5)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            status = (
                DeliveryStatus.RETRY
                if exc.code >= 500 or exc.code == 429
                else DeliveryStatus.FAILED
            )
            return DeliveryResult(status, error=f"HTTP {exc.code}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return DeliveryResult(DeliveryStatus.RETRY, error=str(exc))
        return DeliveryResult(DeliveryStatus.SENT, provider_id=str(body.get("id", "")))
