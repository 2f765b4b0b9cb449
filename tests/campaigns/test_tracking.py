"""Tracking: the open pixel, the click redirect (signed URL only), one-click unsubscribe, and
the providers' delivery reports."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core import signing

from campaigns import services, tracking
from campaigns.models import Message, MessageStatus, TrackingEvent, TrackingKind
from customers.models import ConsentEvent, ConsentState
from omni.messaging import BaseBackend, DeliveryResult, DeliveryStatus
from tests.campaigns.factories import consent, make_campaign
from tests.campaigns.tracked import sent_message
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SHOP = "https://shop.omni.example/soldes?utm=printemps"


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def message():
    customer = CustomerFactory()
    consent(customer, "email")
    return sent_message(campaign=make_campaign(), customer=customer)


class CapturingBackend(BaseBackend):
    outbox: list = []

    def send(self, message):
        CapturingBackend.outbox.append(message)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=f"p-{message.idempotency_key}")


@pytest.fixture
def outbox(settings):
    CapturingBackend.outbox = []
    backend = "tests.campaigns.test_tracking.CapturingBackend"
    settings.OMNI_MESSAGING_BACKENDS = dict.fromkeys(("email", "sms", "push"), backend)
    return CapturingBackend.outbox


def test_the_open_pixel_stamps_the_first_open_once_and_counts_every_open(client, message):
    url = path_of(tracking.open_url(message.pk))

    first = client.get(url)
    opened_at = Message.objects.get(pk=message.pk).opened_at
    second = client.get(url)

    assert (first.status_code, first["Content-Type"], len(first.content)) == (200, "image/gif", 42)
    assert second.status_code == 200
    assert opened_at is not None
    assert Message.objects.get(pk=message.pk).opened_at == opened_at
    assert TrackingEvent.objects.filter(message=message, kind=TrackingKind.OPEN).count() == 2


def test_a_click_redirects_to_the_signed_url_only_and_is_recorded(client, message):
    url = path_of(tracking.click_url(message.pk, SHOP))

    response = client.get(url, {"next": "https://evil.example/"})

    assert (response.status_code, response["Location"]) == (302, SHOP)
    message.refresh_from_db()
    assert message.clicked_at is not None
    assert message.opened_at == message.clicked_at
    event = TrackingEvent.objects.get(message=message)
    assert (event.kind, event.url, event.customer_id) == ("click", SHOP, message.customer_id)


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        # Signed, but for another purpose (the open pixel's salt).
        signing.dumps([1, "https://evil.example/"], salt=tracking.OPEN_SALT, compress=True),
        # Signed by someone who does not know our key.
        signing.dumps([1, "https://evil.example/"], salt=tracking.CLICK_SALT, key="not-ours"),
    ],
    # Named, not by their time-stamped text: parallel workers collect the same test ids.
    ids=["forged", "another-purpose", "another-key"],
)
def test_a_click_with_a_bad_signature_is_a_400_page_and_records_nothing(client, message, token):
    response = client.get(f"/t/c/{token}/")

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert not TrackingEvent.objects.exists()
    assert Message.objects.get(pk=message.pk).clicked_at is None


def test_an_altered_url_in_a_real_token_is_refused(client, message):
    token = tracking.click_token(message.pk, SHOP)
    _payload, signature = token.rsplit(":", 1)
    tampered = tracking.click_token(message.pk, "https://evil.example/").rsplit(":", 1)[0]

    response = client.get(f"/t/c/{tampered}:{signature}/")

    assert response.status_code == 400
    assert not TrackingEvent.objects.exists()


def test_only_web_links_are_ever_signed():
    with pytest.raises(ValueError, match="only http"):
        tracking.click_token(1, "javascript:alert(1)")
    unsafe = signing.dumps([1, "javascript:alert(1)"], salt=tracking.CLICK_SALT, compress=True)
    with pytest.raises(signing.BadSignature):
        tracking.read_click_token(unsafe)


def test_a_forged_pixel_is_refused_and_records_nothing(client, message):
    response = client.get("/t/o/forged.gif")

    assert response.status_code == 400
    assert not TrackingEvent.objects.exists()


def test_sent_messages_carry_tracked_links_and_one_click_unsubscribe_headers(client, outbox):
    customer = CustomerFactory(first_name="Léa")
    consent(customer, "email")
    body = "Bonjour {{ first_name }}, nos soldes : " + SHOP + ". Stop : {{ unsubscribe_url }}"
    variant = services.VariantSpec(
        name="A",
        split_percent=100,
        contents=(services.ChannelContent(channel="email", subject="Soldes", body=body),),
    )
    campaign = make_campaign(variants=(variant,))
    services.campaign_launch(campaign=campaign)

    services.messages_send_batch(campaign_id=campaign.pk)

    [sent] = outbox
    message = Message.objects.get(campaign=campaign)
    assert SHOP not in sent.body
    link = next(word for word in sent.body.split() if "/t/c/" in word).rstrip(".")
    assert client.get(path_of(link))["Location"] == SHOP
    unsubscribe = sent.body.rsplit(" ", 1)[1]
    token = path_of(unsubscribe).removeprefix("/t/u/").rstrip("/")
    assert tracking.read_unsubscribe_token(token) == message.pk
    assert sent.headers == {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_one_click_unsubscribe_is_honoured_at_once(client, outbox):
    customer = CustomerFactory()
    consent(customer, "email")
    earlier = sent_message(campaign=make_campaign(name="Earlier"), customer=customer)
    next_campaign = make_campaign(name="Next")
    services.campaign_launch(campaign=next_campaign)

    response = client.post(
        path_of(tracking.unsubscribe_url(earlier.pk)), {"List-Unsubscribe": "One-Click"}
    )
    result = services.messages_send_batch(campaign_id=next_campaign.pk)

    assert (response.status_code, response["Content-Type"]) == (200, "text/plain")
    state = ConsentState.objects.get(customer=customer, channel="email")
    assert (state.granted, state.last_event.reason) == (False, "unsubscribed")
    assert TrackingEvent.objects.filter(message=earlier, kind="unsubscribed").count() == 1
    assert (result.sent, result.skipped, outbox) == (0, 1, [])
    assert Message.objects.get(campaign=next_campaign).skip_reason == "no_consent"


def test_the_unsubscribe_page_confirms_before_withdrawing(client, message):
    url = path_of(tracking.unsubscribe_url(message.pk))

    page = client.get(url)

    assert page.status_code == 200
    assert ConsentState.objects.get(customer=message.customer, channel="email").granted
    assert client.post(url).status_code == 200
    assert not ConsentState.objects.get(customer=message.customer, channel="email").granted
    assert client.get("/t/u/forged/").status_code == 400


@pytest.fixture
def webhook(settings):
    settings.OMNI_TRACKING_WEBHOOK_TOKEN = "s3cret"
    return {"HTTP_AUTHORIZATION": "Bearer s3cret"}


def test_a_hard_bounce_withdraws_consent_with_reason_bounced_once(client, message, webhook):
    report = {"provider_id": message.provider_id, "status": "hard_bounce"}

    first = client.post("/t/report/", report, content_type="application/json", **webhook)
    again = client.post("/t/report/", report, content_type="application/json", **webhook)

    assert (first.json(), again.json()) == ({"recorded": True}, {"recorded": False})
    state = ConsentState.objects.get(customer=message.customer, channel="email")
    assert (state.granted, state.last_event.reason) == (False, "bounced")
    assert TrackingEvent.objects.filter(message=message, kind="hard_bounce").count() == 1
    assert ConsentEvent.objects.filter(customer=message.customer, reason="bounced").count() == 1


def test_a_delivery_report_by_our_key_keeps_consent(message, webhook):
    event = services.message_delivery_report(
        idempotency_key=message.idempotency_key, status="delivered"
    )

    assert (event.kind, event.message_id) == ("delivered", message.pk)
    assert ConsentState.objects.get(customer=message.customer, channel="email").granted


def test_bad_delivery_reports_are_refused_and_record_nothing(client, message, webhook):
    post = lambda data, **headers: client.post(  # noqa: E731
        "/t/report/", data, content_type="application/json", **headers
    )

    assert post({"provider_id": message.provider_id, "status": "hard_bounce"}).status_code == 403
    assert post({"provider_id": "nope", "status": "delivered"}, **webhook).status_code == 404
    assert (
        post({"provider_id": message.provider_id, "status": "lost"}, **webhook).status_code == 400
    )
    assert not TrackingEvent.objects.exists()
    assert ConsentState.objects.get(customer=message.customer, channel="email").granted


def test_an_unsent_message_records_no_open_or_click():
    customer = CustomerFactory()
    pending = sent_message(
        campaign=make_campaign(), customer=customer, status=MessageStatus.PENDING
    )

    assert services.message_open(message_id=pending.pk) is False
    assert services.message_click(message_id=pending.pk, url=SHOP) is False
    assert not TrackingEvent.objects.exists()
