"""The message and result types and the backend interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import models
from django.utils.translation import gettext_lazy as _

from omni.exceptions import DomainError

CHANNELS = ("email", "sms", "push")
# A push message goes to the customer's active devices: `to` is their tokens joined by this
# (tokens never hold one: customers.models_devices.TOKEN_PATTERN).
PUSH_TOKEN_SEPARATOR = ","


class UnknownChannel(DomainError):
    code = "unknown_channel"
    status_code = 400
    default_detail = _("Unknown message channel.")


class DeliveryStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # permanent: do not retry (bad address, refused)
    RETRY = "retry", _("Temporary failure")  # transient: retry later with backoff


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    to: str
    subject: str
    body: str
    idempotency_key: str
    html_body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> list[str]:
        """The device tokens a push message goes to (empty for other channels)."""
        if self.channel != "push":
            return []
        return [token for token in self.to.split(PUSH_TOKEN_SEPARATOR) if token]


class DeliveryResult(NamedTuple):
    status: DeliveryStatus
    provider_id: str = ""
    error: str = ""
    # Push: device tokens the provider reported invalid (uninstalled app, expired token).
    rejected_tokens: tuple[str, ...] = ()


def push_recipient(tokens: list[str]) -> str:
    """The `to` of a push message for these device tokens."""
    return PUSH_TOKEN_SEPARATOR.join(tokens)


class BaseBackend:
    """Sends messages of one channel. Subclasses implement `send`."""

    def __init__(self, *, channel: str, **options) -> None:
        self.channel = channel
        self.options = options

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        raise NotImplementedError
