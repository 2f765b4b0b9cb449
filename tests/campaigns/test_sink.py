"""The Redis sink backend the worker-crash test counts: a provider that delivers a key once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from omni.celery import app as celery_app
from omni.messaging import send_message
from omni.messaging.base import DeliveryStatus
from omni.messaging.sink import STALL_SECONDS, sink_clear, sink_counts, sink_delivered


@pytest.fixture
def sink(settings):
    url = celery_app.conf.broker_url
    if not url.startswith("redis://"):
        pytest.fail("the sink needs CELERY_BROKER_URL=redis://...: run the tests with `make test`")
    name = f"unit-{uuid.uuid4().hex[:8]}"
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "email": "omni.messaging.sink.SinkBackend",
    }
    settings.OMNI_MESSAGING_SINK = {"url": url, "name": name, "latency_ms": 0, "stall_after": 0}
    yield {"url": url, "name": name}
    sink_clear(url=url, name=name)


def send(key: str):
    return send_message(
        channel="email", to="a@example.com", subject="Hi", body="Hi", idempotency_key=key
    )


def test_a_resent_key_is_accepted_with_the_same_answer_and_delivered_once(sink):
    first = send("m-1")
    again = send("m-1")
    send("m-2")

    assert (first.status, again.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert again.provider_id == first.provider_id == "sink:m-1"
    counts = sink_counts(**sink)
    assert (counts.attempts, counts.deliveries) == ({"m-1": 2, "m-2": 1}, {"m-1": 1, "m-2": 1})
    assert sink_delivered(**sink) == 2


def test_sinks_by_name_are_separate_and_cleared(sink):
    send("m-1")

    assert sink_counts(url=sink["url"], name=f"{sink['name']}-other").attempts == {}
    sink_clear(**sink)
    assert (sink_counts(**sink).attempts, sink_delivered(**sink)) == ({}, 0)


def test_without_a_redis_url_the_sink_refuses_to_send(sink, settings):
    settings.OMNI_MESSAGING_SINK = {**settings.OMNI_MESSAGING_SINK, "url": ""}

    with pytest.raises(ValueError, match="OMNI_MESSAGING_SINK_URL"):
        send("m-1")
    assert sink_counts(**sink).attempts == {}


def test_the_answer_waits_for_the_latency_and_never_comes_for_the_stalled_delivery(
    sink, settings, monkeypatch
):
    settings.OMNI_MESSAGING_SINK = {
        **settings.OMNI_MESSAGING_SINK,
        "latency_ms": 5,
        "stall_after": 2,
    }
    pauses: list[float] = []
    monkeypatch.setattr("omni.messaging.sink.time", SimpleNamespace(sleep=pauses.append))

    send("m-1")
    send("m-2")  # the second delivery: its answer stalls (until the worker is killed)
    send("m-2")  # a resend is not a delivery: it does not stall again

    assert pauses == [0.005, STALL_SECONDS, 0.005, 0.005]
    assert sink_delivered(**sink) == 2
