"""Outgoing messages (email, SMS, push) through pluggable channel backends.

Order notifications and campaigns both send through `send_message`; which backend serves each
channel is configured in settings.OMNI_MESSAGING_BACKENDS. Callers own exactly-once delivery
(a message row locked and marked sent); backends pass the idempotency key on to providers.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from omni.messaging.base import (
    CHANNELS,
    BaseBackend,
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    UnknownChannel,
)

__all__ = [
    "CHANNELS",
    "BaseBackend",
    "DeliveryResult",
    "DeliveryStatus",
    "OutgoingMessage",
    "UnknownChannel",
    "get_backend",
    "send_message",
]


def get_backend(channel: str) -> BaseBackend:
    """Return the configured backend instance for a channel."""
    if channel not in CHANNELS:
        raise UnknownChannel(channel=channel)
    backend_class = import_string(settings.OMNI_MESSAGING_BACKENDS[channel])
    return backend_class(channel=channel, **settings.OMNI_MESSAGING_OPTIONS.get(channel, {}))


def send_message(
    *,
    channel: str,
    to: str,
    subject: str,
    body: str,
    idempotency_key: str,
    html_body: str = "",
    headers: dict[str, str] | None = None,
) -> DeliveryResult:
    """Hand one message to its channel's backend and return what the backend reported.

    Never call it inside a database transaction: it may talk to the network.
    """
    message = OutgoingMessage(
        channel=channel,
        to=to,
        subject=subject,
        body=body,
        idempotency_key=idempotency_key,
        html_body=html_body,
        headers=dict(headers or {}),
    )
    return get_backend(channel).send(message)
