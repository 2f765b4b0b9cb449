"""Demo orders: a year of purchases for a share of the seeded customers, so that the management
dashboard, the customer pages and the reports have something to show.

This is demo data, not business operations. The rows are inserted in bulk straight into the
tables (orders, their lines and fulfilments, the fulfilment lines, and a satisfaction answer for
some of them), consistent with the models but bypassing the services on purpose: no stock is
reserved, sold or moved, no status change is recorded, no notification is queued, no loyalty
point is earned. Never use this outside a demo or a benchmark database.

Deterministic and idempotent like demo/seed.py: a customer's orders are numbered after her
seeded card number (DM<customer>-<n>) and inserted with ON CONFLICT DO NOTHING, so a second run
adds nothing and a run with more customers adds only theirs. The dates are relative to the day
of the run: the last 12 months.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from customers.models import Channel, Customer
from customers.models_service import SurveyAnswer
from inventory.models import Location, LocationKind, Variant
from orders.models import (
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)

BATCH = 5_000  # customers per round trip
SHARE_ORDERING = 0.6  # of the seeded customers, those who bought in the last 12 months
DAYS = 365
CENT = Decimal("0.01")
SHIPPING = Decimal("4.90")
FREE_SHIPPING_FROM = Decimal("60.00")
CHANNELS = [Channel.WEB] * 8 + [Channel.APP] * 5 + [Channel.STORE] * 6 + [Channel.PHONE]
SCORES = [1] * 5 + [2] * 8 + [3] * 15 + [4] * 35 + [5] * 37  # a retailer's usual CSAT, ~72 %


@dataclass
class _Rows:
    """One batch's rows, as column values; lines and fulfilments name their order's number."""

    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    fulfilments: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Places:
    stores: list[Location]
    warehouses: list[Location]
    variants: list[tuple[int, str, str, Decimal]]  # pk, sku, name, price


def _vat(amount: Decimal) -> Decimal:
    """The 20 % VAT included in a VAT-inclusive amount."""
    return (amount / 6).quantize(CENT, rounding=ROUND_HALF_UP)


def _customer_batches() -> Iterator[list[tuple[int, int, str, int | None]]]:
    """The seeded customers (card OMNI<number>) as (pk, number, created_channel, store_id)."""
    rows = list(
        Customer.objects.live()
        .filter(card_number__regex=r"^OMNI[0-9]{10}$")
        .order_by("pk")
        .values_list("pk", "card_number", "created_channel", "preferred_store_id")
    )
    for start in range(0, len(rows), BATCH):
        yield [
            (pk, int(card[4:]), channel, store_id)
            for pk, card, channel, store_id in rows[start : start + BATCH]
        ]


def _fulfilment(rng, *, kind, placed_at, now, location) -> dict:
    """A fulfilment's status and timestamps, as they would be after a normal life."""
    row = {"kind": kind, "location_id": location.pk, "created_at": placed_at}
    if kind == FulfilmentKind.STORE_SALE:
        return {**row, "status": FulfilmentStatus.COMPLETED, "updated_at": placed_at}
    if kind == FulfilmentKind.DELIVERY:
        shipped, delivered = placed_at + timedelta(days=1), placed_at + timedelta(days=3)
        done = delivered <= now
        return {
            **row,
            "status": FulfilmentStatus.DELIVERED if done else FulfilmentStatus.SHIPPED,
            "carrier": "Colissimo",
            "tracking_number": f"6A{rng.randrange(10**11):011d}",
            "shipped_at": shipped if shipped <= now else None,
            "delivered_at": delivered if done else None,
            "updated_at": min(delivered, now),
        }
    promised = placed_at + timedelta(hours=3)
    ready = placed_at + timedelta(minutes=rng.randint(60, 270))  # two in three on time
    row |= {
        "pickup_code": f"{rng.randrange(10**6):06d}",
        "promised_ready_at": promised,
        "pickup_deadline": promised + timedelta(days=7),
    }
    if ready > now:
        return {**row, "status": FulfilmentStatus.RESERVED, "updated_at": placed_at}
    collected = ready + timedelta(hours=rng.randint(2, 96))
    if rng.random() < 0.07 and promised + timedelta(days=7) <= now:
        return {**row, "status": FulfilmentStatus.EXPIRED, "ready_at": ready, "updated_at": now}
    if collected > now:
        return {**row, "status": FulfilmentStatus.READY, "ready_at": ready, "updated_at": ready}
    return {
        **row,
        "status": FulfilmentStatus.COLLECTED,
        "ready_at": ready,
        "collected_at": collected,
        "updated_at": collected,
    }


def _one_order(rng, rows: _Rows, *, number: str, customer, places: _Places, now: datetime):
    pk, _number, created_channel, store_id = customer
    placed_at = now - timedelta(days=rng.uniform(0, DAYS))
    channel = created_channel if rng.random() < 0.5 else rng.choice(CHANNELS)
    store = next((s for s in places.stores if s.pk == store_id), None) or (
        rng.choice(places.stores) if places.stores else None
    )
    if channel == Channel.ADMIN:
        channel = Channel.WEB
    if channel == Channel.STORE and store is None:
        channel = Channel.WEB
    if channel == Channel.STORE:
        kind, location = FulfilmentKind.STORE_SALE, store
    elif channel in (Channel.WEB, Channel.APP) and store and rng.random() < 0.4:
        kind, location = FulfilmentKind.CLICK_AND_COLLECT, store
    else:
        kind = FulfilmentKind.DELIVERY
        location = rng.choice(places.warehouses or places.stores)
    fulfilment = _fulfilment(rng, kind=kind, placed_at=placed_at, now=now, location=location)
    subtotal = vat = Decimal(0)
    for variant_id, sku, name, price in rng.sample(
        places.variants, min(len(places.variants), rng.randint(1, 3))
    ):
        quantity = 1 if rng.random() < 0.8 else 2
        total = price * quantity
        subtotal, vat = subtotal + total, vat + _vat(total)
        rows.lines.append(
            {
                "order_number": number,
                "variant_id": variant_id,
                "sku": sku,
                "name": name,
                "quantity": quantity,
                "unit_price": price,
                "vat_rate": Decimal("20.00"),
                "line_total": total,
                "vat_amount": _vat(total),
            }
        )
    home = kind == FulfilmentKind.DELIVERY and subtotal < FREE_SHIPPING_FROM
    shipping = SHIPPING if home else Decimal(0)
    done = fulfilment["status"] in (FulfilmentStatus.COMPLETED, FulfilmentStatus.DELIVERED)
    done = done or fulfilment["status"] == FulfilmentStatus.COLLECTED
    status = OrderStatus.COMPLETED if done else OrderStatus.PLACED
    if fulfilment["status"] == FulfilmentStatus.EXPIRED:
        status = OrderStatus.CANCELLED  # every fulfilment dead: what order_refresh_status says
    rows.orders.append(
        {
            "number": number,
            "customer_id": pk,
            "channel": channel,
            "status": status,
            "store_id": store.pk if kind == FulfilmentKind.STORE_SALE else None,
            "subtotal": subtotal,
            "shipping_total": shipping,
            "total": subtotal + shipping,
            "vat_total": vat + _vat(shipping),
            "placed_at": placed_at,
            "updated_at": fulfilment["updated_at"],
        }
    )
    rows.fulfilments.append({**fulfilment, "order_number": number, "reference": f"{number}-1"})
    if done and rng.random() < 0.15:
        rows.answers.append(
            {
                "customer_id": pk,
                "order_number": number,
                "store_id": location.pk if location.kind == LocationKind.STORE else None,
                "channel": channel,
                "score": rng.choice(SCORES),
                "answered_at": min(fulfilment["updated_at"] + timedelta(days=1), now),
            }
        )


def _batch_rows(customers, *, orders_per_customer: int, seed: int, places, now) -> _Rows:
    rows = _Rows()
    for customer in customers:
        number = customer[1]
        # One generator per customer: her orders are the same whatever the batch or the total.
        rng = random.Random(seed * 1_000_003 + number)
        if rng.random() >= SHARE_ORDERING:
            continue
        for index in range(rng.randint(1, 2 * orders_per_customer - 1)):
            order_number = f"DM{number:08d}-{index + 1:02d}"
            _one_order(rng, rows, number=order_number, customer=customer, places=places, now=now)
    return rows


def _columns(model: type[models.Model], *, without: tuple[str, ...] = ()) -> dict[str, object]:
    """Every concrete column but the primary key (and `without`), with its default value."""
    columns = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.column in without:
            continue
        columns[model_field.column] = None if model_field.null else model_field.get_default()
    return columns


def _copy(cursor, name: str, model, rows: list[dict], *, without=(), number=False) -> list[str]:
    """COPY `rows` into a temporary table `name` shaped like the model's; return its columns."""
    defaults = _columns(model, without=without)
    names = list(defaults)
    column_list = ", ".join(f'"{column}"' for column in names)
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
    cursor.execute(
        f"CREATE TEMP TABLE {name} AS SELECT {column_list} FROM {model._meta.db_table} WITH NO DATA"
    )
    if number:
        cursor.execute(f"ALTER TABLE {name} ADD COLUMN order_number varchar(20)")
    copied = [*names, "order_number"] if number else names
    copied_list = ", ".join(f'"{column}"' for column in copied)
    with cursor.copy(f"COPY {name} ({copied_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(column, defaults.get(column)) for column in copied])
    return names


def _insert(rows: _Rows) -> int:
    """Insert one batch in one statement; return how many orders were new."""
    tables = {model: model._meta.db_table for model in (Order, OrderLine, Fulfilment)}
    raw = connection.connection
    with transaction.atomic(), raw.cursor() as cursor:
        orders = _copy(cursor, "seed_orders", Order, rows.orders)
        lines = _copy(
            cursor, "seed_lines", OrderLine, rows.lines, without=("order_id",), number=True
        )
        fulfilments = _copy(
            cursor,
            "seed_fulfilments",
            Fulfilment,
            rows.fulfilments,
            without=("order_id",),
            number=True,
        )
        answers = _copy(cursor, "seed_answers", SurveyAnswer, rows.answers)

        def listed(names: list[str], prefix: str = "") -> str:
            return ", ".join(f'{prefix}"{column}"' for column in names)

        cursor.execute(
            f"""
            WITH new_orders AS (
                INSERT INTO {tables[Order]} ({listed(orders)})
                SELECT {listed(orders)} FROM seed_orders ON CONFLICT (number) DO NOTHING
                RETURNING id, number
            ), new_lines AS (
                INSERT INTO {tables[OrderLine]} (order_id, {listed(lines)})
                SELECT new_orders.id, {listed(lines, "line.")}
                FROM seed_lines AS line JOIN new_orders ON new_orders.number = line.order_number
                RETURNING id, order_id, quantity
            ), new_fulfilments AS (
                INSERT INTO {tables[Fulfilment]} (order_id, {listed(fulfilments)})
                SELECT new_orders.id, {listed(fulfilments, "part.")}
                FROM seed_fulfilments AS part
                JOIN new_orders ON new_orders.number = part.order_number
                RETURNING id, order_id
            ), new_fulfilment_lines AS (
                INSERT INTO {FulfilmentLine._meta.db_table} (fulfilment_id, order_line_id, quantity)
                SELECT new_fulfilments.id, new_lines.id, new_lines.quantity
                FROM new_lines JOIN new_fulfilments USING (order_id)
            ), new_answers AS (
                INSERT INTO {SurveyAnswer._meta.db_table} ({listed(answers)})
                SELECT {listed(answers, "answer.")} FROM seed_answers AS answer
                JOIN new_orders ON new_orders.number = answer.order_number
                ON CONFLICT DO NOTHING
            )
            SELECT COUNT(*) FROM new_orders
            """
        )
        (added,) = cursor.fetchone()
        for name in ("seed_orders", "seed_lines", "seed_fulfilments", "seed_answers"):
            cursor.execute(f"DROP TABLE {name}")
    return added


def seed_orders(*, orders_per_customer: int, seed: int, now: datetime | None = None) -> int:
    """Give SHARE_ORDERING of the seeded customers 1 to 2 x `orders_per_customer` - 1 orders
    (that many on average) over the last 12 months; return how many orders were new.

    Each batch is COPYed into temporary tables, then inserted in one statement. Nothing is
    written without a catalogue and a location to serve from.
    """
    if orders_per_customer <= 0:
        return 0
    now = now or timezone.now()
    locations = list(Location.objects.filter(is_active=True).order_by("code"))
    places = _Places(
        stores=[loc for loc in locations if loc.kind == LocationKind.STORE],
        warehouses=[loc for loc in locations if loc.kind == LocationKind.WAREHOUSE],
        variants=list(Variant.objects.order_by("pk").values_list("pk", "sku", "name", "price")),
    )
    if not places.variants or not (places.stores or places.warehouses):
        return 0
    connection.ensure_connection()
    added = 0
    for customers in _customer_batches():
        rows = _batch_rows(
            customers, orders_per_customer=orders_per_customer, seed=seed, places=places, now=now
        )
        if rows.orders:
            added += _insert(rows)
    return added
