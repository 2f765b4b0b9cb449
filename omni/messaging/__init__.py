"""Outgoing messages (email, SMS, push) through pluggable channel backends.

Order notifications and campaigns both send through `send_message`; which backend serves each
channel is configured in settings.OMNI_MESSAGING_BACKENDS. Callers own exactly-once delivery
(a message row locked and marked sent); backends pass the idempotency key on to providers.

A push message is addressed to the customer's active device tokens (`push_recipient`); tokens
the provider reports invalid are announced by the `push_tokens_rejected` signal, which the
customers app turns into disabled devices (omni does not depend on the apps).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import Signal
from django.utils.module_loading import import_string

from omni.messaging.base import (
    CHANNELS,
    BaseBackend,
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    UnknownChannel,
    push_recipient,
)

logger = logging.getLogger(__name__)

# Sent with `tokens` (list[str]) and `idempotency_key` after a push send the provider answered
# with tokens it will never deliver to; outside any transaction, like the send itself.
push_tokens_rejected = Signal()

__all__ = [
    "CHANNELS",
    "BaseBackend",
    "DeliveryResult",
    "DeliveryStatus",
    "OutgoingMessage",
    "UnknownChannel",
    "get_backend",
    "push_recipient",
    "push_tokens_rejected",
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
    result = get_backend(channel).send(message)
    # Only tokens this message was addressed to: a provider's answer never disables another's.
    rejected = sorted(set(result.rejected_tokens) & set(message.tokens))
    if rejected:
        # Robust: the provider already answered, so a receiver's failure must not keep the
        # caller from recording the outcome; it is logged, and the next report tries again.
        answers = push_tokens_rejected.send_robust(
            sender=send_message, tokens=rejected, idempotency_key=idempotency_key
        )
        for receiver, answer in answers:
            if isinstance(answer, Exception):
                logger.error("push_tokens_rejected receiver %r failed", receiver, exc_info=answer)
    return result
