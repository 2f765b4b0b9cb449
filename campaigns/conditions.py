"""The built-in segment fields: profile, consent, purchase behaviour and RFM score.

Each compiles to a `Q` on Customer built from lookups and correlated Exists / Subquery, so that a
whole segment stays one SQL query. Imported (and so registered) by campaigns.segments.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.segments import (
    Condition,
    ConditionType,
    among_groups,
    choice,
    choice_operators,
    compare,
    date,
    decimal,
    exists,
    integer,
    list_of,
    numeric_operators,
    register,
    text,
)
from customers.models import Channel, ConsentState, ContactChannel, Gender
from orders.models import Cart, CartStatus, Order, OrderLine, OrderStatus
from orders.rfm import RFM_WINDOW_DAYS, rfm_thresholds

# Orders that count as purchases: everything but cancelled ones.
COUNTED_ORDER = ~Q(status=OrderStatus.CANCELLED)
ONLINE_CHANNELS = (Channel.WEB, Channel.APP)

# French regions by department (the first two or three digits of the postal code).
REGIONS: dict[str, tuple[str, ...]] = {
    "auvergne-rhone-alpes": (
        "01",
        "03",
        "07",
        "15",
        "26",
        "38",
        "42",
        "43",
        "63",
        "69",
        "73",
        "74",
    ),
    "bourgogne-franche-comte": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "bretagne": ("22", "29", "35", "56"),
    "centre-val-de-loire": ("18", "28", "36", "37", "41", "45"),
    "corse": ("20",),
    "grand-est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "hauts-de-france": ("02", "59", "60", "62", "80"),
    "ile-de-france": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "normandie": ("14", "27", "50", "61", "76"),
    "nouvelle-aquitaine": (
        *("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    ),
    "occitanie": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "pays-de-la-loire": ("44", "49", "53", "72", "85"),
    "provence-alpes-cote-d-azur": ("04", "05", "06", "13", "83", "84"),
    "outre-mer": ("971", "972", "973", "974", "976"),
}

# RFM thresholds, highest score first: a customer scores 5 at the first threshold she meets.


def _local_date(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _compare_expression(expression, op: str, value) -> Q:
    if op == "between":
        return Q(GreaterThanOrEqual(expression, value[0])) & Q(
            LessThanOrEqual(expression, value[1])
        )
    lookup = {
        "eq": Exact,
        "gte": GreaterThanOrEqual,
        "lte": LessThanOrEqual,
        "gt": GreaterThan,
        "lt": LessThan,
    }[op]
    return Q(lookup(expression, value))


# --- profile ----------------------------------------------------------------------------------


def _age(condition: Condition) -> Q:
    today = _local_date(condition.now)
    value = condition.value
    if condition.op == "between":
        low, high = value
    else:
        low, high = {
            "eq": lambda: (value, value),
            "gte": lambda: (value, None),
            "gt": lambda: (value + 1, None),
            "lte": lambda: (None, value),
            "lt": lambda: (None, value - 1),
        }[condition.op]()
    age = Q(birth_date__isnull=False)
    if low is not None:  # at least `low` years old: born on or before today, `low` years ago
        age &= Q(birth_date__lte=_years_before(today, low))
    if high is not None:  # at most `high`: not yet `high + 1` years old
        age &= Q(birth_date__gt=_years_before(today, high + 1))
    return age


def _prefixes(condition: Condition) -> Q:
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    found = Q(pk__in=[])
    for prefix in values:
        found |= Q(postal_code__startswith=prefix)
    return found


def _region(condition: Condition) -> Q:
    regions = condition.value if isinstance(condition.value, list) else [condition.value]
    found = Q(pk__in=[])
    for region in regions:
        for prefix in REGIONS[region]:
            found |= Q(postal_code__startswith=prefix)
    return Q(country="FR") & found


def _consent(condition: Condition) -> Q:
    granted = exists(
        ConsentState.objects.filter(customer=OuterRef("pk"), channel=condition.value, granted=True)
    )
    return granted if condition.op == "granted" else ~granted


def _consent_any(conditions: list[Condition]) -> Q:
    """Granted on any of several channels: one EXISTS over them (the others OR'd as they are)."""
    channels = [condition.value for condition in conditions if condition.op == "granted"]
    parts = [_consent(condition) for condition in conditions if condition.op != "granted"]
    if channels:
        granted = ConsentState.objects.filter(
            customer=OuterRef("pk"), channel__in=channels, granted=True
        )
        parts.append(exists(granted))
    return functools.reduce(operator.or_, parts)


register(
    ConditionType(
        "age",
        _("Age"),
        numeric_operators(integer),
        _age,
    )
)
register(
    ConditionType(
        "gender",
        _("Gender"),
        choice_operators(tuple(Gender.values)),
        lambda c: compare("gender", c.op, c.value),
    )
)
register(
    ConditionType(
        "postal_code",
        _("Postal code"),
        {"eq": text, "in": list_of(text), "startswith": text, "startswith_any": list_of(text)},
        lambda c: (
            _prefixes(c) if c.op.startswith("startswith") else compare("postal_code", c.op, c.value)
        ),
    )
)
register(
    ConditionType(
        "region",
        _("Region (France)"),
        {"eq": choice(tuple(REGIONS)), "in": list_of(choice(tuple(REGIONS)))},
        _region,
    )
)
register(
    ConditionType(
        "preferred_store",
        _("Preferred store (code)"),
        {"eq": text, "in": list_of(text)},
        lambda c: compare("preferred_store__code", c.op, c.value),
    )
)
register(
    ConditionType(
        "language",
        _("Language"),
        {"eq": text, "in": list_of(text)},
        lambda c: compare("language", c.op, c.value),
    )
)
register(
    ConditionType(
        "signup_channel",
        _("Signed up on"),
        choice_operators(tuple(Channel.values)),
        lambda c: compare("created_channel", c.op, c.value),
    )
)
register(
    ConditionType(
        "consent",
        _("Marketing consent"),
        {
            "granted": choice(tuple(ContactChannel.values)),
            "not_granted": choice(tuple(ContactChannel.values)),
        },
        _consent,
        compile_any=_consent_any,
    )
)


# --- purchase behaviour -----------------------------------------------------------------------


def _orders(since: dt.datetime | None = None):
    orders = Order.objects.filter(COUNTED_ORDER, customer=OuterRef("pk"))
    return orders if since is None else orders.filter(placed_at__gte=since)


def _order_count(since: dt.datetime | None):
    counted = _orders(since).order_by().values("customer").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _order_total(since: dt.datetime | None):
    spent = _orders(since).order_by().values("customer").annotate(s=Sum("total")).values("s")
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(spent, output_field=money), Value(Decimal(0)), output_field=money)


def _holds(op: str, value, amount) -> bool:
    """Whether `amount` compares with `value` as `op` says (in Python: for the zero case)."""
    if op == "between":
        return value[0] <= amount <= value[1]
    return {
        "eq": amount == value,
        "gte": amount >= value,
        "lte": amount <= value,
        "gt": amount > value,
        "lt": amount < value,
    }[op]


def _per_customer(condition: Condition, aggregate, zero) -> Q:
    """Customers whose aggregate over their counted orders (in the window) compares as the rule
    says, set-based: one GROUP BY over the orders, joined (see `among_groups`), instead of one
    correlated subquery per customer. A customer without orders has `zero`; when `zero` matches,
    the rule is "not among those whose aggregate does not match"."""
    if (condition.op, condition.value) in (("gte", 1), ("gt", 0)):  # "at least one": a semi join
        return exists(_orders(condition.since()))
    since = condition.since()
    orders = Order.objects.filter(COUNTED_ORDER, customer__isnull=False)
    if since is not None:
        orders = orders.filter(placed_at__gte=since)
    grouped = orders.order_by().values("customer").annotate(amount=aggregate)
    matches = _compare_expression(F("amount"), condition.op, condition.value)
    if _holds(condition.op, condition.value, zero):
        return ~among_groups(grouped.exclude(matches))
    return among_groups(grouped.filter(matches))


def _last_order(condition: Condition) -> Q:
    if condition.op == "before":
        return exists(_orders()) & ~exists(_orders(_start_of(condition.value)))
    if condition.op == "after":
        return exists(_orders(_start_of(condition.value + dt.timedelta(days=1))))
    recent = exists(_orders(condition.since(condition.value)))
    return recent if condition.op == "within_days" else exists(_orders()) & ~recent


def _bought_lines(condition: Condition):
    lines = OrderLine.objects.filter(order__customer=OuterRef("pk")).exclude(
        order__status=OrderStatus.CANCELLED
    )
    since = condition.since()
    return lines if since is None else lines.filter(order__placed_at__gte=since)


def _bought_channel(condition: Condition) -> Q:
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    channels = {"store": [Channel.STORE], "online": list(ONLINE_CHANNELS), "phone": [Channel.PHONE]}
    wanted = [channel for value in values for channel in channels[value]]
    orders = _orders(condition.since()).filter(channel__in=wanted)
    return exists(orders)


def _open_cart_idle(condition: Condition) -> Q:
    carts = Cart.objects.filter(
        customer=OuterRef("pk"),
        status=CartStatus.ACTIVE,
        last_activity_at__lte=condition.now - dt.timedelta(hours=condition.value),
        lines__isnull=False,
    )
    return exists(carts)


DAYS = {"days": integer}

register(
    ConditionType(
        "orders_count",
        _("Number of orders"),
        numeric_operators(integer),
        lambda c: _per_customer(c, Count("pk"), 0),
        DAYS,
    )
)
register(
    ConditionType(
        "total_spent",
        _("Total spent"),
        numeric_operators(decimal),
        lambda c: _per_customer(c, Sum("total"), Decimal(0)),
        DAYS,
    )
)
register(
    ConditionType(
        "last_order",
        _("Last order"),
        {"before": date, "after": date, "within_days": integer, "not_within_days": integer},
        _last_order,
    )
)
register(
    ConditionType(
        "bought_product",
        _("Bought a product (ids)"),
        {"in": list_of(integer)},
        lambda c: exists(_bought_lines(c).filter(variant__product_id__in=c.value)),
        DAYS,
    )
)
register(
    ConditionType(
        "bought_category",
        _("Bought in a category (slugs, subcategories included)"),
        {"in": list_of(text)},
        lambda c: exists(
            _bought_lines(c).filter(
                Q(variant__product__category__slug__in=c.value)
                | Q(variant__product__category__parent__slug__in=c.value)
            )
        ),
        DAYS,
    )
)
register(
    ConditionType(
        "bought_channel",
        _("Bought in store, online or by phone"),
        {
            "eq": choice(("store", "online", "phone")),
            "in": list_of(choice(("store", "online", "phone"))),
        },
        _bought_channel,
        DAYS,
    )
)
register(
    ConditionType(
        "open_cart_idle_hours",
        _("Has an open cart untouched for at least N hours"),
        {"gte": integer},
        _open_cart_idle,
    )
)


# --- RFM --------------------------------------------------------------------------------------


def _thresholds() -> dict[str, tuple]:
    return rfm_thresholds()


def _scored(expression, thresholds) -> Case:
    """5 for the first threshold met, 4 for the second..., 1 when none is."""
    cases = [
        When(GreaterThanOrEqual(expression, limit), then=Value(5 - index))
        for index, limit in enumerate(thresholds)
    ]
    return Case(*cases, default=Value(1), output_field=IntegerField())


def rfm_scores(now: dt.datetime) -> dict[str, Case]:
    """Recency, frequency and monetary scores (1 to 5) as aggregates over one customer's counted
    orders: a single grouped subquery evaluates them (see `_rfm`)."""
    thresholds = _thresholds()
    in_window = Q(placed_at__gte=now - dt.timedelta(days=RFM_WINDOW_DAYS))
    recency = Case(
        *[
            When(
                GreaterThanOrEqual(Max("placed_at"), now - dt.timedelta(days=days)),
                then=Value(5 - index),
            )
            for index, days in enumerate(thresholds["recency_days"])
        ],
        default=Value(1),
        output_field=IntegerField(),
    )
    return {
        "recency": recency,
        "frequency": _scored(Count("pk", filter=in_window), thresholds["frequency_orders"]),
        "monetary": _scored(
            Sum("total", filter=in_window, default=Decimal(0)),
            [Decimal(str(v)) for v in thresholds["monetary_total"]],
        ),
    }


def _rfm(part: str):
    """The score is worked out in one correlated subquery per customer, grouped over her orders:
    a CASE over per-threshold subqueries would run one subquery per threshold tried, up to 15
    for the whole score. A customer with no counted order scores 1 on each part."""

    def compile_rfm(condition: Condition) -> Q:
        scores = rfm_scores(condition.now)
        if part == "score":
            expression = scores["recency"] + scores["frequency"] + scores["monetary"]
        else:
            expression = scores[part]
        scored = _orders().order_by().values("customer").annotate(score=expression)
        lowest = 3 if part == "score" else 1
        score = Coalesce(
            Subquery(scored.values("score"), output_field=IntegerField()), Value(lowest)
        )
        return _compare_expression(score, condition.op, condition.value)

    return compile_rfm


register(
    ConditionType("rfm_score", _("RFM score (3-15)"), numeric_operators(integer), _rfm("score"))
)
for _part, _label in (
    ("recency", _("RFM recency (1-5)")),
    ("frequency", _("RFM frequency (1-5)")),
    ("monetary", _("RFM monetary (1-5)")),
):
    register(ConditionType(f"rfm_{_part}", _label, numeric_operators(integer), _rfm(_part)))


# Engagement (received, opened, clicked) reads tracking rows: its own module.
from campaigns import engagement  # noqa: E402, F401
