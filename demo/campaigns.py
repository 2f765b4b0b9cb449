"""Demo campaigns: a marketer's short history, so the campaign list, the results pages and the
360° view have something to show from the first `make run`.

Unlike the demo orders (demo/orders.py), everything goes through the campaigns services, as
a marketer's screens would: three segments (`segment_create`); the Paris Rivoli store's e-mail
campaign, with two variants, a holdout and a discount code, created, launched and sent a few
days ago (`campaign_create`, `campaign_launch`, `messages_send_batch`), then opened and clicked
(`message_open`, `message_click`), one of its codes spent at the store's till (`order_checkout`)
and the orders that followed it credited to it (`order_attribute`); a win-back campaign
scheduled next week through django-celery-beat (`campaign_schedule`), and a draft.

The sent campaign reaches one store's customers, not every subscriber: sending goes message by
message through the real service (a few milliseconds each), and the seed runs on every `make run`.

Sending never leaves the machine: the seed sends through the file backend into
var/messages/demo-seed.jsonl, whatever backends the settings name (an operator's SMTP server
must not mail the made-up addresses), with no rate limit (no provider to spare). E-mail has no
quiet hours, so the campaign is sent whatever the time of the seed.

Idempotent like the rest of the demo: segments and campaigns are found by name, and each step of
the sent campaign runs only while its state says it is still to do (launch a draft, send what is
pending, engage once, spend a code once), so a second seed adds nothing and an interrupted one
resumes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Min
from django.test.utils import override_settings
from django.utils import timezone

from campaigns import services
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignStatus,
    DiscountCode,
    Message,
    MessageStatus,
    ScheduleKind,
    Segment,
    TrackingEvent,
)
from campaigns.services import order_attribute
from customers.models import Channel, ContactChannel
from inventory.models import LocationKind, Product, StockLevel
from orders.checkout.discounts import discount_quote, discount_saving
from orders.checkout.types import PaymentInfo, StoreSaleChoice
from orders.models import Order, OrderStatus
from orders.services import cart_add_line, cart_for_customer, order_checkout

SHOP_URL = "https://shop.omni.example/nouvelle-collection"
SENT_DAYS_AGO = 3
SCHEDULED_IN_DAYS = 7
SEND_TIME = dt.time(10, 0)
OPEN_SHARE = 0.4  # of the recipients, those who open the e-mail
CLICK_SHARE = 0.3  # of those who open it, those who click
FILE_BACKEND = "omni.messaging.backends.FileBackend"

RIVOLI = "Clients de Paris Rivoli"
LAPSED = "Clients sans commande depuis 6 mois"
BEAUTY = "Acheteuses beauté"
SEGMENTS = {
    RIVOLI: (
        "Leur magasin préféré est Paris Rivoli.",
        {"field": "preferred_store", "op": "eq", "value": "PAR01"},
    ),
    LAPSED: (
        "Ont déjà commandé, mais pas depuis 180 jours.",
        {"field": "last_order", "op": "not_within_days", "value": 180},
    ),
    BEAUTY: (
        "Ont acheté en beauté (en ligne ou en magasin).",
        {"field": "bought_category", "op": "in", "value": ["beaute"]},
    ),
}

SENT = "Soirée nouvelle collection à Paris Rivoli : -15 %"
SCHEDULED = "On ne vous voit plus : -20 % pour revenir"
DRAFT = "Rouge à lèvres : la nouvelle teinte"
FOOTER = "\n\nSe désabonner : {{ unsubscribe_url }}"


def _content(channel: str, body: str, subject: str = "") -> services.ChannelContent:
    if channel == ContactChannel.EMAIL:
        body += FOOTER
    return services.ChannelContent(channel=channel, subject=subject, body=body)


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time))


@contextmanager
def _offline_messaging(outbox) -> Iterator[None]:
    """Every channel to the file sink, unthrottled, for the seed's own sends."""
    with override_settings(
        OMNI_MESSAGING_BACKENDS=dict.fromkeys(ContactChannel.values, FILE_BACKEND),
        OMNI_MESSAGING_OPTIONS={channel: {"path": str(outbox)} for channel in ContactChannel},
        OMNI_CAMPAIGN_RATE_LIMITS={},
    ):
        yield


def seed_segments(*, created_by) -> dict[str, Segment]:
    """The demo segments, created once (found by name)."""
    segments = {segment.name: segment for segment in Segment.objects.filter(name__in=SEGMENTS)}
    for name, (description, rules) in SEGMENTS.items():
        if name not in segments:
            segments[name] = services.segment_create(
                name=name, rules=rules, description=description, created_by=created_by
            )
    return segments


def _sent_spec(segment: Segment) -> services.CampaignSpec:
    body = (
        "Bonjour {{ first_name }},\n\nLa nouvelle collection est arrivée à {{ store.name }}. "
        "Avec le code {{ discount_code }}, elle est à -15 % en magasin et en ligne pendant un "
        f"mois.\n\nDécouvrir la collection : {SHOP_URL}"
    )
    return services.CampaignSpec(
        name=SENT,
        segment=segment,
        channels=(ContactChannel.EMAIL,),
        variants=(
            services.VariantSpec(
                name="A",
                split_percent=50,
                contents=(_content("email", body, "La nouvelle collection est arrivée"),),
            ),
            services.VariantSpec(
                name="B",
                split_percent=50,
                contents=(_content("email", body, "{{ first_name }}, -15 % rien que pour vous"),),
            ),
        ),
        discount_percent=Decimal("15"),
        holdout_percent=10,
    )


def _scheduled_spec(segment: Segment, send_at: dt.datetime) -> services.CampaignSpec:
    text = "{{ first_name }}, cela fait longtemps ! -20 % avec le code {{ discount_code }}."
    return services.CampaignSpec(
        name=SCHEDULED,
        segment=segment,
        channels=(ContactChannel.EMAIL, ContactChannel.SMS),
        variants=(
            services.VariantSpec(
                name="A",
                split_percent=100,
                contents=(
                    _content("email", f"Bonjour {text}\n\n{SHOP_URL}", "Vous nous manquez"),
                    _content("sms", f"Omni : {text} STOP au 36111"),
                ),
            ),
        ),
        discount_percent=Decimal("20"),
        schedule=services.Schedule(kind=ScheduleKind.AT, send_at=send_at),
    )


def _draft_spec(segment: Segment) -> services.CampaignSpec:
    lipstick = Product.objects.filter(name__startswith="Rouge à lèvres").order_by("pk").first()
    text = "{{ first_name }}, la nouvelle teinte de rouge à lèvres est arrivée"
    return services.CampaignSpec(
        name=DRAFT,
        segment=segment,
        channels=(ContactChannel.EMAIL, ContactChannel.PUSH),
        variants=(
            services.VariantSpec(
                name="A",
                split_percent=100,
                contents=(
                    _content("email", f"Bonjour {text}.\n\n{SHOP_URL}", "Une nouvelle teinte"),
                    _content("push", f"{text} !", "Nouveau"),
                ),
            ),
        ),
        # She bought this lipstick in the last 30 days: the campaign leaves her out.
        promoted_product=lipstick,
    )


def _send(campaign: Campaign, *, sent_at: dt.datetime, outbox) -> Campaign:
    """Launch the campaign as of `sent_at` if still a draft, and send what it has pending."""
    with _offline_messaging(outbox):  # the launch too: an eager worker sends at its commit
        if campaign.status == CampaignStatus.DRAFT:
            services.campaign_launch(campaign=campaign, now=sent_at)
        while services.messages_send_batch(campaign_id=campaign.pk).claimed:
            pass
    services.campaign_finish_if_done(campaign_id=campaign.pk)  # an empty audience too
    return Campaign.objects.get(pk=campaign.pk)


def _backdate(campaign: Campaign, *, sent_at: dt.datetime) -> None:
    """Move to `sent_at` the times the services stamp from the clock rather than their `now`:
    `messages_send_batch` uses its `now` only to find the due messages and stamps `sent_at`
    with the wall clock, as `campaign_finish_if_done` does `finished_at`, and the campaign's
    and its events' creation times are `auto_now_add`. Demo history only."""
    finished_at = sent_at + dt.timedelta(minutes=20)
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            created_at=sent_at - dt.timedelta(days=2), updated_at=finished_at
        )
        events = CampaignEvent.objects.filter(campaign=campaign)
        events.filter(action=CampaignAction.CREATED).update(at=sent_at - dt.timedelta(days=2))
        events.filter(action=CampaignAction.LAUNCHED).update(at=sent_at)
        events.filter(action=CampaignAction.FINISHED).update(at=finished_at)
        if campaign.status == CampaignStatus.SENT:
            Campaign.objects.filter(pk=campaign.pk).update(finished_at=finished_at)
        sent = Message.objects.filter(campaign=campaign, status=MessageStatus.SENT)
        sent.update(sent_at=sent_at + dt.timedelta(minutes=2), claimed_at=sent_at)
        DiscountCode.objects.filter(campaign=campaign).update(
            created_at=sent_at, valid_until=sent_at + dt.timedelta(days=30)
        )


def _first_orders_after(customer_ids: list[int], since: dt.datetime) -> dict[int, tuple]:
    """Each customer's first order placed since `since`: (order id, placed at)."""
    firsts = (
        Order.objects.filter(customer_id__in=customer_ids, placed_at__gt=since)
        .exclude(status=OrderStatus.CANCELLED)
        .values("customer_id")
        .annotate(first=Min("placed_at"))
    )
    found = {row["customer_id"]: row["first"] for row in firsts}
    orders = Order.objects.filter(customer_id__in=list(found), placed_at__gt=since).order_by("pk")
    return {
        order.customer_id: (order.pk, order.placed_at)
        for order in orders.only("pk", "customer_id", "placed_at")
        if order.placed_at == found[order.customer_id]
    }


def _engage(campaign: Campaign, *, sent_at: dt.datetime, now: dt.datetime, seed: int) -> list[int]:
    """Opens and clicks of the recipients, once: a share at random, and every recipient who
    ordered after the send read it first. Returns the ids of those orders (every time: their
    attribution is idempotent, and resumes an interrupted seed)."""
    messages = list(
        Message.objects.filter(campaign=campaign, status=MessageStatus.SENT)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    # An order in the hour after the send: too soon to have been read first.
    buyers = _first_orders_after(
        [customer for _pk, customer in messages], sent_at + dt.timedelta(hours=1)
    )
    orders = [order_id for order_id, _placed_at in buyers.values()]
    if TrackingEvent.objects.filter(campaign=campaign).exists():
        return orders
    rng = random.Random(f"{seed}:campaign:{campaign.name}")
    with transaction.atomic():  # one commit for them all, not one per message
        for pk, customer_id in messages:
            # Every draw is made for every message: the same recipients engage on every seed.
            opened, clicked = rng.random() < OPEN_SHARE, rng.random() < CLICK_SHARE
            opened_at = sent_at + dt.timedelta(minutes=rng.randint(5, 36 * 60))
            share, click_after = rng.uniform(0.2, 0.9), dt.timedelta(minutes=rng.randint(1, 20))
            if customer_id in buyers:
                opened, placed_at = True, buyers[customer_id][1]
                opened_at = sent_at + (placed_at - sent_at) * share
            if not opened or opened_at > now:
                continue
            services.message_open(message_id=pk, at=opened_at)
            if clicked and opened_at + click_after <= now:
                services.message_click(message_id=pk, url=SHOP_URL, at=opened_at + click_after)
    return orders


def _spend_a_code(campaign: Campaign, *, seller) -> Order | None:
    """A recipient who clicked comes to her store with her code and buys there: the till sale
    of Scenario 1. None when no clicker's store has anything in stock."""
    if DiscountCode.objects.filter(campaign=campaign, redeemed_at__isnull=False).exists():
        return None
    codes = (
        DiscountCode.objects.filter(
            campaign=campaign,
            message__clicked_at__isnull=False,
            customer__preferred_store__kind=LocationKind.STORE,
        )
        .select_related("customer__preferred_store")
        .order_by("message_id")
    )
    for code in codes:
        store = code.customer.preferred_store
        level = (
            StockLevel.objects.filter(location=store, on_hand__gt=F("reserved"))
            .filter(variant__is_active=True, variant__product__is_active=True)
            .select_related("variant")
            .order_by("variant_id")
            .first()
        )
        if level is None:
            continue
        variant, now = level.variant, timezone.now()
        quote = discount_quote(
            code=code.code, customer=code.customer, subtotal=variant.price, at=now
        )
        cart = cart_for_customer(customer=code.customer, channel=Channel.STORE)
        cart_add_line(cart=cart, variant=variant, quantity=1, channel=Channel.STORE)
        return order_checkout(
            cart=cart,
            channel=Channel.STORE,
            fulfilment=StoreSaleChoice(store=store),
            payment=PaymentInfo(
                provider="card",
                reference=f"DEMO-{code.code}",
                status="captured",
                amount=variant.price - discount_saving([variant.price], quote),
            ),
            performed_by=seller,
            discount_code=code.code,
        )
    return None


def seed_sent_campaign(
    *, segment: Segment, created_by, seller, seed: int, now: dt.datetime, outbox
) -> Campaign:
    """The campaign sent a few days ago, with its opens, clicks and attributed orders (and a
    till sale with one of its codes when `seller` is given)."""
    sent_at = _local(timezone.localdate(now) - dt.timedelta(days=SENT_DAYS_AGO), SEND_TIME)
    campaign = Campaign.objects.filter(name=SENT).order_by("pk").first()
    if campaign is None:
        campaign = services.campaign_create(
            spec=_sent_spec(segment), created_by=created_by, now=sent_at
        )
    else:
        # Found: its own send time, not this run's (a later seed must not move the history).
        sent_at = campaign.launched_at or sent_at
    campaign = _send(campaign, sent_at=sent_at, outbox=outbox)
    _backdate(campaign, sent_at=sent_at)
    orders = _engage(campaign, sent_at=sent_at, now=now, seed=seed)
    sold = None
    if seller is not None:
        with _offline_messaging(outbox):  # the order confirmation, when a worker is eager
            sold = _spend_a_code(campaign, seller=seller)
    for order in Order.objects.filter(pk__in=orders).order_by("pk"):
        order_attribute(order=order)
    if sold is not None:
        order_attribute(order=sold)
    return campaign


def seed_campaigns(*, seed: int, sales: bool = True, now: dt.datetime | None = None) -> int:
    """Segments and campaigns of the demo (see the module docstring); returns the campaigns.
    Without `sales` (a demo seeded without orders), no code is spent at the till."""
    now = now or timezone.now()
    users = get_user_model().objects.filter(username__in=["marketing", "vendeur"])
    by_name = {user.username: user for user in users}
    marketer = by_name.get("marketing")
    outbox = settings.VAR_DIR / "messages" / "demo-seed.jsonl"
    segments = seed_segments(created_by=marketer)
    seed_sent_campaign(
        segment=segments[RIVOLI],
        created_by=marketer,
        seller=by_name.get("vendeur") if sales else None,
        seed=seed,
        now=now,
        outbox=outbox,
    )
    existing = set(
        Campaign.objects.filter(name__in=[SCHEDULED, DRAFT]).values_list("name", flat=True)
    )
    if SCHEDULED not in existing:
        send_at = _local(timezone.localdate(now) + dt.timedelta(days=SCHEDULED_IN_DAYS), SEND_TIME)
        services.campaign_create(
            spec=_scheduled_spec(segments[LAPSED], send_at), created_by=marketer, now=now
        )
    if DRAFT not in existing:
        services.campaign_create(spec=_draft_spec(segments[BEAUTY]), created_by=marketer)
    return Campaign.objects.filter(name__in=[SENT, SCHEDULED, DRAFT]).count()
