"""Campaign e-mails carry an HTML alternative: the text escaped, links as tracked clicks, and the
signed open pixel, whose fetch counts as an open in the results."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from campaigns import results, services, tracking
from campaigns.models import Message
from customers.models import Customer
from omni.messaging.html import text_to_html
from tests.campaigns.factories import consent, make_campaign
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BODY = "Bonjour {{ first_name }}, <3 & co.\nNew: https://shop.example/p/robe/?size=38&c=red.\n\nBye"
IMG = re.compile(r'<img src="([^"]+)"')


@pytest.fixture
def email_backend(settings):
    settings.OMNI_MESSAGING_BACKENDS = {
        **settings.OMNI_MESSAGING_BACKENDS,
        "email": "omni.messaging.backends.EmailBackend",
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def sent_email_campaign(first_name: str = "Zoé"):
    customer = CustomerFactory(first_name=first_name, email="zoe@example.com")
    consent(customer, "email")
    variant = services.VariantSpec(
        name="A",
        split_percent=100,
        contents=(services.ChannelContent(channel="email", subject="Hi", body=BODY),),
    )
    campaign = make_campaign(variants=(variant,))
    services.campaign_launch(campaign=campaign)
    assert services.messages_send_batch(campaign_id=campaign.pk).sent == 1
    return campaign, Message.objects.get(campaign=campaign)


def test_the_email_has_an_html_alternative_with_the_pixel_and_tracked_links(email_backend):
    _campaign, message = sent_email_campaign(first_name="<b>Zoé</b>")

    [email] = mail.outbox
    [(part, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    # The pixel's token is signed with the time: read it back rather than sign another one
    # (a second later, the same message gives another token).
    pixel = html.unescape(IMG.search(part).group(1))
    token = pixel.removeprefix(f"{settings.OMNI_PUBLIC_URL}/t/o/").removesuffix(".gif")
    opened = reverse("campaigns:track-open", kwargs={"token": token})
    assert pixel == f"{settings.OMNI_PUBLIC_URL}{opened}"
    assert tracking.read_open_token(token) == message.pk
    assert "Bonjour &lt;b&gt;Zoé&lt;/b&gt;, &lt;3 &amp; co." in part  # her name is only text
    assert "<b>Zoé" not in part
    links = re.findall(r'<a href="([^"]+)">', part)
    assert len(links) == 1
    assert html.unescape(links[0]).startswith(f"{settings.OMNI_PUBLIC_URL}/t/c/")
    assert "shop.example" not in part  # the destination is only inside the signed token
    assert part.count("<p>") == 2
    assert "</a>.</p>" in part  # the full stop stays outside the link
    assert email.body.startswith("Bonjour <b>Zoé</b>, <3 & co.")  # the text part is unchanged


def test_fetching_the_pixel_records_an_open_that_results_count(email_backend, client):
    campaign, message = sent_email_campaign()
    [(part, _mimetype)] = mail.outbox[0].alternatives
    pixel = html.unescape(IMG.search(part).group(1))
    assert results.campaign_results(campaign=campaign).total.opened == 0

    response = client.get(pixel.removeprefix(settings.OMNI_PUBLIC_URL))
    client.get(pixel.removeprefix(settings.OMNI_PUBLIC_URL))  # a second open counts once

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    message.refresh_from_db()
    assert message.opened_at is not None
    assert message.clicked_at is None
    figures = results.campaign_results(campaign=campaign).total
    assert (figures.sent, figures.opened, figures.clicked) == (1, 1, 0)


def test_sms_and_push_get_no_html(settings, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "campaigns.services.delivery.send_message",
        lambda **kwargs: sent.append(kwargs) or _sent(),
    )
    customer = CustomerFactory(phone="+33611223344")
    consent(customer, "sms")
    campaign = make_campaign(channels=("sms",))
    Customer.objects.filter(pk=customer.pk).update(country="XX")
    settings.OMNI_CAMPAIGN_QUIET_HOURS = {"XX": {"sms": None}, "FR": {"sms": None}}
    services.campaign_launch(campaign=campaign)

    services.messages_send_batch(campaign_id=campaign.pk)

    assert [(kwargs["channel"], kwargs["html_body"]) for kwargs in sent] == [("sms", "")]


def _sent():
    from omni.messaging import DeliveryResult, DeliveryStatus

    return DeliveryResult(DeliveryStatus.SENT, provider_id="p1")


def test_text_to_html_escapes_everything_and_keeps_paragraphs():
    text = 'Line one\r\nline "two" <i>\n\n\n  \nSee https://a.example/x?a=1&b=2), thanks'

    page = text_to_html(text, pixel_url="https://omni.example/t/o/abc:1/")

    assert "<p>Line one<br>\nline &quot;two&quot; &lt;i&gt;</p>" in page
    assert (
        '<p>See <a href="https://a.example/x?a=1&amp;b=2">https://a.example/x?a=1&amp;b=2</a>'
        "), thanks</p>"
    ) in page
    assert page.count("<p>") == 2
    assert page.rstrip().endswith(
        '<img src="https://omni.example/t/o/abc:1/" alt="" width="1" height="1" '
        'style="display:block;border:0">\n</body></html>'
    )
    assert "<img" not in text_to_html("no pixel")
