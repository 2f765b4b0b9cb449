"""Triggers: for each kind, the rows of another app that enrol a customer, as one query.

Each function returns a `Trigger`: a queryset rooted where the event lives (a cart, a
fulfilment, a cart event, an order, a customer) and the expressions of the enrolment's columns.
This module only reads: `automations_enrol` (campaigns/services/automations.py) turns a trigger
into one INSERT INTO enrolment ... SELECT ... ON CONFLICT DO NOTHING: the unique (automation,
customer, trigger_key) makes a second tick, or a second scheduler, enrol nobody twice, and no
customer row is loaded into Python.

Only events since the automation's `starts_at`, and within the sweep's look-back window
(settings.OMNI_AUTOMATION_LOOKBACK_DAYS), are triggers: switching an automation on does not
write to everyone who ever left a cart, and the scans stay on recent, indexed rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Extract, TruncDate

from campaigns.models import Automation, TriggerKind
from customers.models import ConsentAction, ConsentEvent, ConsentState, Customer
from inventory.models import StockEvent, StockEventKind
from orders.models import (
    OPEN_STATUSES,
    Cart,
    CartAction,
    CartEvent,
    CartLine,
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)

PREFIX = "enrolment_"
TEXT = CharField()


@dataclass(frozen=True)
class Trigger:
    queryset: QuerySet
    customer: Expression  # the customer id
    key: Expression  # the trigger key: the same event gives the same key
    event_at: Expression  # when it happened: an order after this is a conversion
    wait: dt.timedelta = dt.timedelta()  # from the event to the trigger (idle time)
    references: dict[str, Expression] = field(default_factory=dict)  # cart_id, order_id...


def lookback() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "OMNI_AUTOMATION_LOOKBACK_DAYS", 7))


def _since(automation: Automation, now: dt.datetime) -> dt.datetime:
    """Triggers that fired before this are not new: before the start, or past the look-back."""
    return max(automation.starts_at, now - lookback())


def _epoch_seconds(field: str) -> Func:
    """Whole seconds since 1970 of a datetime column, for a trigger key."""
    return Cast(Extract(field, "epoch", tzinfo=dt.UTC), BigIntegerField())


def _text(expression) -> Cast:
    return Cast(expression, TEXT)


def _live(prefix: str) -> Q:
    return Q(**{f"{prefix}merged_into__isnull": True, f"{prefix}erased_at__isnull": True})


def welcome(automation: Automation, now: dt.datetime) -> Trigger:
    """Her first opt-in to any marketing channel (at sign-up or later), consent still granted."""
    first_grant = (
        ConsentEvent.objects.filter(customer=OuterRef("pk"), action=ConsentAction.GRANTED)
        .order_by("created_at", "pk")
        .values("created_at")[:1]
    )
    granted = ConsentState.objects.filter(customer=OuterRef("pk"), granted=True)
    customers = (
        Customer.objects.live()
        .filter(Exists(granted))
        .annotate(first_grant=Subquery(first_grant))
        .filter(first_grant__gte=_since(automation, now), first_grant__lte=now)
    )
    return Trigger(customers, customer=F("pk"), key=Value("welcome"), event_at=F("first_grant"))


def abandoned_cart(automation: Automation, now: dt.datetime) -> Trigger:
    """A cart with lines, untouched for `idle_hours`, and no order of hers since it was."""
    idle = dt.timedelta(hours=automation.idle_hours)
    ordered_since = Order.objects.filter(
        customer=OuterRef("customer"), placed_at__gte=OuterRef("last_activity_at")
    ).exclude(status=OrderStatus.CANCELLED)
    carts = (
        Cart.objects.filter(
            _live("customer__"),
            status__in=OPEN_STATUSES,
            customer__isnull=False,
            last_activity_at__lte=now - idle,
            last_activity_at__gte=_since(automation, now) - idle,
        )
        .filter(Exists(CartLine.objects.filter(cart=OuterRef("pk"))))
        .exclude(Exists(ordered_since))
    )
    # The cart and its last activity: touched and left again, it is a new trigger.
    epoch = _epoch_seconds("last_activity_at")
    key = Concat(Value("cart-"), _text(F("pk")), Value("-"), _text(epoch), output_field=TEXT)
    return Trigger(
        carts,
        customer=F("customer_id"),
        key=key,
        event_at=F("last_activity_at"),
        wait=idle,
        references={"cart_id": F("pk")},
    )


def satisfaction(automation: Automation, now: dt.datetime) -> Trigger:
    """An order collected or delivered (its first such fulfilment): one survey per order."""
    done_at = Coalesce("collected_at", "delivered_at")
    fulfilments = (
        Fulfilment.objects.filter(
            _live("order__customer__"),
            status__in=[FulfilmentStatus.COLLECTED, FulfilmentStatus.DELIVERED],
            order__customer__isnull=False,
        )
        .exclude(order__status=OrderStatus.CANCELLED)
        .annotate(done_at=done_at)
        .filter(done_at__gte=_since(automation, now), done_at__lte=now)
    )
    # The survey names the store that handed the order over; a parcel has none.
    store = Case(
        When(kind=FulfilmentKind.DELIVERY, then=Value(None)),
        default=F("location_id"),
        output_field=IntegerField(),
    )
    return Trigger(
        fulfilments,
        customer=F("order__customer_id"),
        key=Concat(Value("order-"), _text(F("order_id")), output_field=TEXT),
        event_at=F("done_at"),
        references={"order_id": F("order_id"), "location_id": store},
    )


def back_in_stock(automation: Automation, now: dt.datetime) -> Trigger:
    """A variant back in stock that she put in a cart before (open or not) and has not bought
    since: one alert per variant and day, whatever the number of locations restocked."""
    recent = StockEvent.objects.filter(
        kind=StockEventKind.BACK_IN_STOCK, created_at__gte=_since(automation, now)
    ).filter(created_at__lte=now)
    back_at = Subquery(
        recent.filter(variant=OuterRef("variant")).order_by("-created_at").values("created_at")[:1],
        output_field=DateTimeField(),
    )
    bought_since = OrderLine.objects.filter(
        order__customer=OuterRef("cart__customer"),
        variant=OuterRef("variant"),
        order__placed_at__gte=OuterRef("at"),
    ).exclude(order__status=OrderStatus.CANCELLED)
    wanted = (
        CartEvent.objects.filter(
            _live("cart__customer__"),
            action__in=[CartAction.ADD, CartAction.MERGE],
            cart__customer__isnull=False,
            variant_id__in=recent.values("variant_id"),
        )
        .annotate(back_at=back_at)
        .filter(at__lte=F("back_at"))
        .exclude(Exists(bought_since))
    )
    day = _text(TruncDate("back_at", tzinfo=dt.UTC))
    key = Concat(Value("stock-"), _text(F("variant_id")), Value("-"), day, output_field=TEXT)
    return Trigger(
        wanted,
        customer=F("cart__customer_id"),
        key=key,
        event_at=F("back_at"),
        references={"variant_id": F("variant_id")},
    )


def win_back(automation: Automation, now: dt.datetime) -> Trigger:
    """Her last order is `idle_days` old: one trigger per last order (she lapses again after
    her next order, and that is a new trigger)."""
    idle = dt.timedelta(days=automation.idle_days)
    later = Order.objects.filter(
        customer=OuterRef("customer"), placed_at__gt=OuterRef("placed_at")
    ).exclude(status=OrderStatus.CANCELLED)
    orders = (
        Order.objects.filter(
            _live("customer__"),
            customer__isnull=False,
            placed_at__lte=now - idle,
            placed_at__gte=_since(automation, now) - idle,
        )
        .exclude(status=OrderStatus.CANCELLED)
        .exclude(Exists(later))
    )
    return Trigger(
        orders,
        customer=F("customer_id"),
        key=Concat(Value("winback-"), _text(F("pk")), output_field=TEXT),
        event_at=F("placed_at"),
        wait=idle,
        references={"order_id": F("pk")},
    )


TRIGGERS = {
    TriggerKind.WELCOME: welcome,
    TriggerKind.ABANDONED_CART: abandoned_cart,
    TriggerKind.SATISFACTION: satisfaction,
    TriggerKind.BACK_IN_STOCK: back_in_stock,
    TriggerKind.WIN_BACK: win_back,
}
