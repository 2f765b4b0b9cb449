"""Channel backends: e-mail through Django, a file sink, and an HTTP provider on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from omni.messaging import DeliveryStatus, UnknownChannel, send_message
from omni.messaging.backends import FileBackend, HttpBackend
from omni.messaging.base import OutgoingMessage


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
    answers: list[int] = []
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
        status = Provider.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": "prov-1"}).encode())

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
