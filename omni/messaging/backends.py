"""Channel backends: e-mail through Django's mail backends, console and file sinks for
development and tests, an HTTP backend for an SMS or push provider, and a null backend.

A push message's `to` is the customer's active device tokens joined by commas
(`OutgoingMessage.tokens` splits them); the file sink also writes them as a list.
"""

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
        record = {
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "key": message.idempotency_key,
            "at": timezone.now().isoformat(),
        }
        if message.channel == "push":
            record["tokens"] = message.tokens
        line = json.dumps(record)
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

    Push: the body also carries `tokens`, the list of device tokens, and the provider may answer
    (with 2xx or 4xx) `{"invalid_tokens": [...]}`, the tokens it will never deliver to (FCM's
    UNREGISTERED, APNs' 410); a 410 without that list rejects every token. Those come back in
    `rejected_tokens`, and a message none of whose tokens was taken is failed.
    """

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        content = {"to": message.to, "subject": message.subject, "body": message.body}
        if message.channel == "push":
            content["tokens"] = message.tokens
        request = urllib.request.Request(
            self.options["url"],
            data=json.dumps(content).encode(),
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
                body = _json(response.read())
        except urllib.error.HTTPError as exc:
            status = (
                DeliveryStatus.RETRY
                if exc.code >= 500 or exc.code == 429
                else DeliveryStatus.FAILED
            )
            rejected = _rejected(message, _json(exc.read()), gone=exc.code == 410)
            return DeliveryResult(status, error=f"HTTP {exc.code}", rejected_tokens=rejected)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return DeliveryResult(DeliveryStatus.RETRY, error=str(exc))
        rejected = _rejected(message, body, gone=False)
        if message.tokens and set(rejected) >= set(message.tokens):
            return DeliveryResult(
                DeliveryStatus.FAILED,
                provider_id=str(body.get("id", "")),
                error="every device token was rejected",
                rejected_tokens=rejected,
            )
        return DeliveryResult(
            DeliveryStatus.SENT, provider_id=str(body.get("id", "")), rejected_tokens=rejected
        )


def _json(raw: bytes) -> dict:
    """A provider's JSON answer; {} for an empty or non-JSON body (a proxy's error page)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejected(message: OutgoingMessage, body: dict, *, gone: bool) -> tuple[str, ...]:
    """The message's device tokens the provider's answer reports invalid."""
    if not message.tokens:
        return ()
    listed = body.get("invalid_tokens")
    if isinstance(listed, list):
        invalid = {str(token) for token in listed}
        return tuple(token for token in message.tokens if token in invalid)
    return tuple(message.tokens) if gone else ()
