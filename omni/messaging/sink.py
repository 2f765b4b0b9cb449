"""A provider stand-in that keeps its outbox in Redis: what the worker-crash test counts.

Like a real provider (SES, Twilio, FCM all take an idempotency key), `SinkBackend` delivers a
given idempotency key once: a resend of a key it already delivered is accepted (same answer, same
provider id) and dropped. It counts *attempts* (every call) and *deliveries* (what reached the
customer) per key in Redis, outside any database transaction and any worker process, so the
counts survive a worker killed with SIGKILL between the provider's acceptance and the row being
marked sent: that message comes back to the pipeline, is sent again, and shows two attempts and
one delivery.

Configured by settings.OMNI_MESSAGING_SINK (environment: OMNI_MESSAGING_SINK_URL, _NAME,
_LATENCY_MS, _STALL_AFTER) so a worker subprocess picks it up, and selected per channel like any
backend: OMNI_EMAIL_BACKEND=omni.messaging.sink.SinkBackend.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from typing import NamedTuple

import redis
from django.conf import settings

from omni.messaging.base import BaseBackend, DeliveryResult, DeliveryStatus, OutgoingMessage

# Atomic in Redis: count the attempt; deliver (and count the delivery) only a key not yet
# delivered. Returns the running number of deliveries, or 0 for a dropped resend.
_RECORD = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if redis.call('HSETNX', KEYS[2], ARGV[1], 1) == 1 then
    return redis.call('INCR', KEYS[3])
end
return 0
"""
# A stalled answer: long enough for any test to kill the worker, short enough to end on its own.
STALL_SECONDS = 600


class SinkCounts(NamedTuple):
    attempts: Counter[str]  # calls per idempotency key, resends included
    deliveries: Counter[str]  # messages that reached the customer per key (a provider dedupes)


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@functools.cache
def _record(url: str):
    return _client(url).register_script(_RECORD)


def _keys(name: str) -> list[str]:
    return [f"sink:{name}:attempts", f"sink:{name}:deliveries", f"sink:{name}:delivered"]


def _config() -> dict:
    config = dict(settings.OMNI_MESSAGING_SINK)
    if not config.get("url"):
        raise ValueError("SinkBackend needs OMNI_MESSAGING_SINK_URL (a redis:// URL)")
    return config


class SinkBackend(BaseBackend):
    """Records each message in Redis and delivers each idempotency key once.

    Options (settings.OMNI_MESSAGING_SINK): `url`, `name` (several sinks in one Redis database),
    `latency_ms` (the provider's answer arrives this long after it delivered: the window in which
    a dying worker leaves a delivered message unrecorded), `stall_after` (the answer to the Nth
    delivery never comes: a test kills the worker exactly inside that window).
    """

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        config = _config()
        record = _record(config["url"])
        delivered = int(record(keys=_keys(config["name"]), args=[message.idempotency_key]))
        if config.get("stall_after") and delivered == config["stall_after"]:
            time.sleep(STALL_SECONDS)
        if config.get("latency_ms"):
            time.sleep(config["latency_ms"] / 1000)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=f"sink:{message.idempotency_key}")


def sink_counts(*, url: str, name: str) -> SinkCounts:
    """Attempts and deliveries per idempotency key recorded so far by the sink `name`."""
    attempts_key, deliveries_key, _total = _keys(name)
    client = _client(url)

    def read(key: str) -> Counter[str]:
        return Counter({k.decode(): int(v) for k, v in client.hgetall(key).items()})

    return SinkCounts(attempts=read(attempts_key), deliveries=read(deliveries_key))


def sink_delivered(*, url: str, name: str) -> int:
    """How many messages the sink `name` has delivered (one Redis read: cheap to poll)."""
    return int(_client(url).get(_keys(name)[2]) or 0)


def sink_clear(*, url: str, name: str) -> None:
    """Forget everything the sink `name` recorded."""
    _client(url).delete(*_keys(name))
