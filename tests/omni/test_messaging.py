"""Channel backends: e-mail through Django, a file sink, and an HTTP provider on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from omni.messaging import (
    DeliveryResult,
    DeliveryStatus,
    UnknownChannel,
    push_recipient,
    push_tokens_rejected,
    send_message,
)
from omni.messaging.backends import FileBackend, HttpBackend
from omni.messaging.base import BaseBackend, OutgoingMessage


def message(**overrides) -> OutgoingMessage:
    values = {
        "channel": "sms",
        "to": "+33612345678",
        "subject": "",
        "body": "Votre commande",
        "idempotency_key": "order-42-ready",
    }
    return OutgoingMessage(**{**values, **overrides})


def test_email_goes_through_djangos_mail_backend(settings):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "email": "omni.messaging.backends.EmailBackend",
    }

    result = send_message(
        channel="email",
        to="lea@example.fr",
        subject="Prête",
        body="Votre commande est prête",
        idempotency_key="k-1",
        html_body="<p>Prête</p>",
    )

    assert result.status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.extra_headers["X-Omni-Message-Key"]) == (
        ["lea@example.fr"],
        "Prête",
        "k-1",
    )
    assert sent.alternatives[0].content == "<p>Prête</p>"


def test_the_file_sink_appends_one_json_line_per_message(tmp_path):
    backend = FileBackend(channel="sms", path=str(tmp_path / "out.jsonl"))

    backend.send(message(idempotency_key="a"))
    backend.send(message(idempotency_key="b"))

    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["key"] for line in lines] == ["a", "b"]
    assert lines[0]["to"] == "+33612345678"


def test_an_unknown_channel_is_refused():
    with pytest.raises(UnknownChannel):
        send_message(channel="fax", to="x", subject="", body="", idempotency_key="k")


class Provider(BaseHTTPRequestHandler):
    # A status (answered with {"id": "prov-1"}), or a status and the JSON body to answer.
    answers: list[int | tuple[int, dict]] = []
    seen: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Provider.seen.append(
            {
                "key": self.headers["Idempotency-Key"],
                "auth": self.headers["Authorization"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        answer = Provider.answers.pop(0)
        status, body = answer if isinstance(answer, tuple) else (answer, {"id": "prov-1"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        return


@pytest.fixture
def provider():
    server = HTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Provider.answers, Provider.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()


def test_http_backend_maps_provider_answers(provider):
    backend = HttpBackend(channel="sms", url=provider, token="secret", timeout=2)
    Provider.answers = [200, 503, 400]

    sent, busy, refused = (backend.send(message()) for _ in range(3))

    assert sent.status == DeliveryStatus.SENT
    assert sent.provider_id == "prov-1"
    assert busy.status == DeliveryStatus.RETRY
    assert refused.status == DeliveryStatus.FAILED
    assert Provider.seen[0] == {
        "key": "order-42-ready",
        "auth": "Bearer secret",
        "body": {"to": "+33612345678", "subject": "", "body": "Votre commande"},
    }


def test_http_backend_treats_an_unreachable_provider_as_transient():
    backend = HttpBackend(channel="push", url="http://127.0.0.1:1/send", timeout=1)

    assert backend.send(message()).status == DeliveryStatus.RETRY


# --- push: addressed to device tokens; the provider's invalid tokens are reported ---------------

PHONE, TABLET = "fcm:phone-APA91b", "apns/tablet+64hex="


def push(**overrides) -> OutgoingMessage:
    values = {"channel": "push", "to": push_recipient([PHONE, TABLET]), "subject": "Prête"}
    return message(**{**values, **overrides})


def test_a_push_message_is_addressed_to_its_device_tokens(tmp_path):
    backend = FileBackend(channel="push", path=str(tmp_path / "out.jsonl"))

    backend.send(push())

    [line] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert line["tokens"] == [PHONE, TABLET]
    assert line["to"] == f"{PHONE},{TABLET}"
    assert message().tokens == []  # an SMS has no device tokens


def test_http_push_sends_the_tokens_and_reports_those_the_provider_rejects(provider):
    backend = HttpBackend(channel="push", url=provider, token="secret", timeout=2)
    Provider.answers = [
        (200, {"id": "prov-2", "invalid_tokens": [TABLET, "someone-elses"]}),
        (200, {"id": "prov-3", "invalid_tokens": [PHONE, TABLET]}),
        (410, {}),
        (400, {"invalid_tokens": [PHONE]}),
        (503, {}),
    ]

    partly, none_left, gone, refused, busy = (backend.send(push()) for _ in range(5))

    assert Provider.seen[0]["body"]["tokens"] == [PHONE, TABLET]
    assert (partly.status, partly.provider_id, partly.rejected_tokens) == (
        DeliveryStatus.SENT,
        "prov-2",
        (TABLET,),
    )
    assert (none_left.status, none_left.rejected_tokens) == (
        DeliveryStatus.FAILED,
        (PHONE, TABLET),
    )
    assert (gone.status, gone.rejected_tokens) == (DeliveryStatus.FAILED, (PHONE, TABLET))
    assert (refused.status, refused.rejected_tokens) == (DeliveryStatus.FAILED, (PHONE,))
    assert (busy.status, busy.rejected_tokens) == (DeliveryStatus.RETRY, ())


class RejectingBackend(BaseBackend):
    """Reports a token of the message and one it was never sent to as invalid."""

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        return DeliveryResult(
            DeliveryStatus.SENT, provider_id="p", rejected_tokens=(TABLET, "not-addressed")
        )


@pytest.mark.django_db  # the customers app's receiver disables the devices
def test_send_message_announces_only_the_addressed_rejected_tokens(settings):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "push": f"{__name__}.RejectingBackend",
    }
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    push_tokens_rejected.connect(listen)
    try:
        result = send_message(
            channel="push",
            to=push_recipient([PHONE, TABLET]),
            subject="Prête",
            body="Votre commande",
            idempotency_key="order-42-ready",
        )
    finally:
        push_tokens_rejected.disconnect(listen)

    assert result.status == DeliveryStatus.SENT
    assert [(kw["tokens"], kw["idempotency_key"]) for kw in heard] == [([TABLET], "order-42-ready")]


def test_a_failing_receiver_does_not_lose_the_providers_answer(settings, caplog):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "push": f"{__name__}.RejectingBackend",
    }

    def broken(sender, **kwargs):
        raise RuntimeError("database down")

    push_tokens_rejected.connect(broken)
    try:
        with caplog.at_level("ERROR"):
            result = send_message(
                channel="push", to=TABLET, subject="", body="Prête", idempotency_key="k"
            )
    finally:
        push_tokens_rejected.disconnect(broken)

    assert result.status == DeliveryStatus.SENT
    assert "push_tokens_rejected receiver" in caplog.text
