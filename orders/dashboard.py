"""The management dashboard's figures: CSAT, retention by monthly cohort, lifetime value,
multichannel customers, revenue by channel and click-and-collect.

Every figure is one aggregate query (no Python loop over customers or orders) and comes back as
a small typed value. Shared definitions:

- An order counts unless it was cancelled; revenue is the order total, VAT and shipping
  included, as placed (returns are not deducted).
- With a store filter, an order belongs to a store when it was taken there (till, staff-assisted)
  or one of its fulfilments is served there (a pickup, a ship-from-store parcel, a till sale).
- Months are calendar months in the site's time zone.
- A period runs from `since` (included) to `until` (excluded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, DateField, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.satisfaction import CsatRow, csat
from inventory.models import Location
from orders.models import Fulfilment, FulfilmentKind, FulfilmentStatus, Order, OrderStatus

PERCENT = Decimal("0.1")
ZERO = Decimal("0.00")
# Lifetime value buckets (euros, lower bound included); the last one is open-ended.
LTV_EDGES: tuple[Decimal, ...] = tuple(Decimal(edge) for edge in (0, 50, 100, 250, 500, 1000))


class Period(NamedTuple):
    since: datetime
    until: datetime


def default_period(*, today: date | None = None) -> Period:
    """The last 12 months: from the first day of the month eleven months back to tonight."""
    today = today or timezone.localdate()
    first = date(today.year, today.month, 1)
    month = first.year * 12 + first.month - 1 - 11
    return period_between(since=date(month // 12, month % 12 + 1, 1), until=today)


def period_between(*, since: date, until: date) -> Period:
    """The period from the start of day `since` to the end of day `until`, local time."""
    zone = timezone.get_current_timezone()
    return Period(
        since=datetime.combine(since, time.min, tzinfo=zone),
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone),
    )


def rate(part: int, whole: int) -> Decimal | None:
    """`part` out of `whole` in percent, one decimal; None when there is nothing to divide."""
    return (Decimal(100 * part) / whole).quantize(PERCENT) if whole else None


def _cents(value: Decimal | None) -> Decimal:
    """A sum of money to the cent, zero when there was nothing to add up."""
    return (value or ZERO).quantize(ZERO)


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, output_field=DateField())


def _orders(*, stores: Sequence[Location] | None) -> QuerySet[Order]:
    """Orders that count (not cancelled), of `stores` only when given."""
    orders = Order.objects.exclude(status=OrderStatus.CANCELLED).order_by()
    if stores is None:
        return orders
    ids = [store.pk for store in stores]
    served_there = Fulfilment.objects.filter(order=OuterRef("pk"), location_id__in=ids)
    return orders.filter(Q(store_id__in=ids) | Exists(served_there))


# CSAT --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    overall: CsatRow
    by_store: list[CsatRow]
    by_channel: list[CsatRow]  # every store: the survey selector has no store filter
    by_month: list[CsatRow]  # idem


def satisfaction(*, period: Period, stores: Sequence[Location] | None = None) -> Satisfaction:
    """CSAT overall and per store, channel and month, through customers.satisfaction.csat."""
    by_store = csat(since=period.since, until=period.until, group_by="store")
    if stores is not None:
        codes = {store.code for store in stores}
        by_store = [row for row in by_store if row.key in codes]
    answers = sum(row.answers for row in by_store)
    satisfied = sum(row.satisfied for row in by_store)
    overall = CsatRow(None, answers, satisfied, rate(satisfied, answers) or ZERO)
    return Satisfaction(
        overall=overall,
        by_store=by_store,
        by_channel=csat(since=period.since, until=period.until, group_by="channel"),
        by_month=csat(since=period.since, until=period.until, group_by="month"),
    )


# Retention ---------------------------------------------------------------------------------------


class Cohort(NamedTuple):
    month: date  # the month of her first order ever (of the store, with a store filter)
    customers: int
    returning: tuple[int, ...]  # how many ordered again in month +1, +2, ... (months elapsed)

    @property
    def rates(self) -> tuple[Decimal | None, ...]:
        return tuple(rate(count, self.customers) for count in self.returning)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def _cohort_counts(activity: QuerySet, first_month: date) -> dict[tuple[date, int], int]:
    activity_sql, params = (
        activity.annotate(month=_month("placed_at"))
        .values("customer_id", "month")
        .query.sql_with_params()
    )
    sql = f"""
        WITH activity AS (
            SELECT DISTINCT customer_id, month::date AS month FROM ({activity_sql}) AS placed
        ),
        cohorts AS (SELECT customer_id, MIN(month) AS cohort FROM activity GROUP BY customer_id)
        SELECT cohorts.cohort,
               (EXTRACT(YEAR FROM activity.month) - EXTRACT(YEAR FROM cohorts.cohort)) * 12
               + EXTRACT(MONTH FROM activity.month) - EXTRACT(MONTH FROM cohorts.cohort),
               COUNT(*)
        FROM activity JOIN cohorts USING (customer_id)
        WHERE cohorts.cohort >= %s
        GROUP BY 1, 2
    """  # the inner query is Django's own SQL, its parameters passed apart
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, first_month])
        return {(cohort, int(offset)): count for cohort, offset, count in cursor.fetchall()}


def retention(*, period: Period, stores: Sequence[Location] | None = None) -> list[Cohort]:
    """Monthly cohorts of the customers whose first order falls in the period, and how many of
    each ordered again in each following month up to the period's end (one query)."""
    activity = _orders(stores=stores).filter(customer__isnull=False, placed_at__lt=period.until)
    first_month = timezone.localtime(period.since).date().replace(day=1)
    last_month = timezone.localtime(period.until - timedelta(microseconds=1)).date().replace(day=1)
    counts = _cohort_counts(activity, first_month)
    cohorts = sorted({cohort for cohort, offset in counts if offset == 0})
    return [
        Cohort(
            month=cohort,
            customers=counts[cohort, 0],
            returning=tuple(
                counts.get((cohort, offset), 0)
                for offset in range(1, _months_between(cohort, last_month) + 1)
            ),
        )
        for cohort in cohorts
    ]


# Lifetime value ----------------------------------------------------------------------------------


class ValueBucket(NamedTuple):
    low: Decimal
    high: Decimal | None  # excluded; None: no upper bound
    customers: int
    revenue: Decimal


@dataclass(frozen=True)
class LifetimeValue:
    customers: int
    revenue: Decimal
    buckets: list[ValueBucket]

    @property
    def average(self) -> Decimal | None:
        return (self.revenue / self.customers).quantize(ZERO) if self.customers else None


def lifetime_value(*, period: Period, stores: Sequence[Location] | None = None) -> LifetimeValue:
    """The customers who ordered in the period, by their revenue to date (every order placed
    before the period's end), in LTV_EDGES buckets (one query)."""
    per_customer = (
        _orders(stores=stores)
        .filter(customer__isnull=False, placed_at__lt=period.until)
        .values("customer_id")
        .annotate(value=Sum("total"), last_order=Max("placed_at"))
        .filter(last_order__gte=period.since)
    )
    bounds = [(low, high) for low, high in zip(LTV_EDGES, [*LTV_EDGES[1:], None], strict=True)]
    conditions = [Q(value__gte=low) & (Q(value__lt=high) if high else Q()) for low, high in bounds]
    figures = per_customer.aggregate(
        customers=Count("customer_id"),
        revenue=Sum("value"),
        **{f"count_{i}": Count("customer_id", filter=cond) for i, cond in enumerate(conditions)},
        **{f"revenue_{i}": Sum("value", filter=cond) for i, cond in enumerate(conditions)},
    )
    return LifetimeValue(
        customers=figures["customers"],
        revenue=_cents(figures["revenue"]),
        buckets=[
            ValueBucket(low, high, figures[f"count_{i}"], _cents(figures[f"revenue_{i}"]))
            for i, (low, high) in enumerate(bounds)
        ],
    )


# Multichannel ------------------------------------------------------------------------------------


class ChannelMix(NamedTuple):
    customers: int  # who ordered in the period
    one: int
    two: int
    three_or_more: int

    @property
    def multichannel(self) -> int:
        return self.two + self.three_or_more

    @property
    def share(self) -> Decimal | None:
        return rate(self.multichannel, self.customers)


def channel_mix(*, period: Period, stores: Sequence[Location] | None = None) -> ChannelMix:
    """The customers who ordered in the period by how many channels they ordered on."""
    per_customer = (
        _orders(stores=stores)
        .filter(customer__isnull=False, placed_at__gte=period.since, placed_at__lt=period.until)
        .values("customer_id")
        .annotate(channels=Count("channel", distinct=True))
    )
    figures = per_customer.aggregate(
        customers=Count("customer_id"),
        one=Count("customer_id", filter=Q(channels=1)),
        two=Count("customer_id", filter=Q(channels=2)),
        three_or_more=Count("customer_id", filter=Q(channels__gte=3)),
    )
    return ChannelMix(**figures)


# Revenue by channel ------------------------------------------------------------------------------


class RevenueCell(NamedTuple):
    month: date
    channel: str
    orders: int
    revenue: Decimal


def revenue_by_channel(
    *, period: Period, stores: Sequence[Location] | None = None
) -> list[RevenueCell]:
    """Orders and revenue per month and channel, months in order (one query)."""
    rows = (
        _orders(stores=stores)
        .filter(placed_at__gte=period.since, placed_at__lt=period.until)
        .annotate(month=_month("placed_at"))
        .values("month", "channel")
        .annotate(orders=Count("pk"), revenue=Sum("total"))
        .order_by("month", "channel")
    )
    return [RevenueCell(**{**row, "revenue": _cents(row["revenue"])}) for row in rows]


# Click-and-collect -------------------------------------------------------------------------------


class PickupMonth(NamedTuple):
    month: date  # the month the order was placed
    pickups: int
    collected: int
    due: int  # promised a time and either made ready or past that time
    on_time: int  # ready by the promised time

    @property
    def on_time_rate(self) -> Decimal | None:
        return rate(self.on_time, self.due)


def click_and_collect(
    *, period: Period, stores: Sequence[Location] | None = None, now: datetime | None = None
) -> list[PickupMonth]:
    """Click-and-collect pickups (not cancelled) of the orders placed in the period, per month:
    volume, collected, and how many were ready by the time promised at checkout (one query)."""
    now = now or timezone.now()
    pickups = Fulfilment.objects.filter(
        kind=FulfilmentKind.CLICK_AND_COLLECT,
        order__placed_at__gte=period.since,
        order__placed_at__lt=period.until,
    ).exclude(status=FulfilmentStatus.CANCELLED)
    if stores is not None:
        pickups = pickups.filter(location_id__in=[store.pk for store in stores])
    promised = Q(promised_ready_at__isnull=False)
    made_ready = Q(ready_at__isnull=False)
    overdue = Q(promised_ready_at__lt=now)
    rows = (
        pickups.annotate(month=_month("order__placed_at"))
        .values("month")
        .annotate(
            pickups=Count("pk"),
            collected=Count("pk", filter=Q(collected_at__isnull=False)),
            due=Count("pk", filter=promised & (made_ready | overdue)),
            on_time=Count("pk", filter=promised & Q(ready_at__lte=F("promised_ready_at"))),
        )
        .order_by("month")
    )
    return [PickupMonth(**row) for row in rows]


# Everything --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    satisfaction: Satisfaction
    retention: list[Cohort]
    lifetime_value: LifetimeValue
    channel_mix: ChannelMix
    revenue: list[RevenueCell]
    pickups: list[PickupMonth]


def management_dashboard(*, period: Period, stores: Sequence[Location] | None = None) -> Dashboard:
    """Every figure of the management dashboard: eight aggregate queries, whatever the data."""
    return Dashboard(
        period=period,
        satisfaction=satisfaction(period=period, stores=stores),
        retention=retention(period=period, stores=stores),
        lifetime_value=lifetime_value(period=period, stores=stores),
        channel_mix=channel_mix(period=period, stores=stores),
        revenue=revenue_by_channel(period=period, stores=stores),
        pickups=click_and_collect(period=period, stores=stores),
    )
