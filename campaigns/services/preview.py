"""A campaign's content seen before it goes out: rendered for one customer, or sent to oneself.

Nothing here writes a row: no Message, no discount code, nothing that counts toward the
frequency cap or the results. Links stay as written (no tracking redirect) and the discount
code and unsubscribe link are placeholders, so a test cannot be confused with a real message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import personalise
from campaigns.models import Campaign, Message
from campaigns.services.campaigns import ChannelContent
from campaigns.templating import TemplateRefused, check_template, render
from customers.models import ContactChannel, Customer
from inventory.models import Product
from omni.exceptions import DomainError
from omni.messaging import DeliveryStatus, send_message

PREVIEW_CODE = "OMPREVIEW00"
PREVIEW_LINK = "#preview"


class NoTestAddress(DomainError):
    """A test send to a marketer whose account has no e-mail address."""

    code = "test_send_refused"
    status_code = 400
    default_detail = gettext_lazy("Your account has no e-mail address to send the test to.")


@dataclass(frozen=True)
class RenderedContent:
    """One channel's subject and body as a customer would receive them."""

    channel: str
    subject: str
    body: str

    @property
    def channel_label(self) -> str:
        """The channel's name as the screens show it (translated)."""
        return str(ContactChannel(self.channel).label)


@dataclass(frozen=True)
class SelfSendResult:
    """A test send: the address it went to, the channels sent and those that failed."""

    to: str
    sent: tuple[str, ...]  # channels whose content went out
    failed: tuple[str, ...]


def preview_context(
    *,
    customer: Customer,
    promoted_product: Product | None = None,
    discount_percent: Decimal | None = None,
) -> dict:
    """The values a template sees for this customer, as a real send builds them."""
    # An unsaved message and campaign carry what personalise reads; they are never saved.
    campaign = Campaign(pk=0, promoted_product=promoted_product, discount_percent=discount_percent)
    message = Message(pk=0, customer=customer, campaign=campaign, idempotency_key="preview")
    values = personalise.contexts([message], codes={})[0]
    values.update(
        discount_code=PREVIEW_CODE if discount_percent else "",
        unsubscribe_url=PREVIEW_LINK,
        open_pixel_url="",
    )
    return values


def campaign_preview(
    *,
    contents: Sequence[ChannelContent],
    customer: Customer,
    promoted_product: Product | None = None,
    discount_percent: Decimal | None = None,
) -> list[RenderedContent]:
    """Render each channel's content for `customer` through the sandboxed templates.

    Raises:
        ValidationError: per "<channel>.<subject|body>", a template that is refused.
    """
    errors: dict[str, str] = {}
    for content in contents:
        for part in ("subject", "body"):
            try:
                check_template(getattr(content, part))
            except TemplateRefused as exc:
                errors[f"{content.channel}.{part}"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    values = preview_context(
        customer=customer, promoted_product=promoted_product, discount_percent=discount_percent
    )
    return [
        RenderedContent(
            channel=content.channel,
            subject=render(content.subject, values),
            body=render(content.body, values),
        )
        for content in contents
    ]


def campaign_test_send(
    *,
    contents: Sequence[ChannelContent],
    customer: Customer,
    user: User,
    promoted_product: Product | None = None,
    discount_percent: Decimal | None = None,
) -> SelfSendResult:
    """E-mail each channel's content, rendered for `customer`, to the marketer herself.

    Staff accounts have no phone or device: the SMS and push texts go by e-mail too, their
    channel named in the subject. Never call it inside a transaction (it talks to the network).

    Raises:
        NoTestAddress: the user has no e-mail address.
        ValidationError: a template is refused (see campaign_preview).
    """
    to = (getattr(user, "email", "") or "").strip()
    if not to:
        raise NoTestAddress()
    rendered = campaign_preview(
        contents=contents,
        customer=customer,
        promoted_product=promoted_product,
        discount_percent=discount_percent,
    )
    sent: list[str] = []
    failed: list[str] = []
    for item in rendered:
        subject = _("[Test · %(channel)s] %(subject)s") % {
            "channel": item.channel_label,
            "subject": item.subject or item.body[:60],
        }
        result = send_message(
            channel="email",
            to=to,
            subject=subject,
            body=item.body,
            # Unique per test: a provider must never drop a second test as a duplicate.
            idempotency_key=f"test:{user.pk}:{item.channel}:{uuid.uuid4().hex}",
        )
        (sent if result.status == DeliveryStatus.SENT else failed).append(item.channel)
    return SelfSendResult(to=to, sent=tuple(sent), failed=tuple(failed))
