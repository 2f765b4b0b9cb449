"""Checkout: one service turns a customer's cart into an order, for every channel.

`order_checkout` runs in one transaction with the stock it reserves or sells: the cart is locked
and closed first (`cart_mark_converted`: a second checkout of the same cart waits, then finds it
closed), the order number is drawn from the order id sequence so stock references exist before
any row is written, the stock is reserved (delivery, pickup) or sold (till) through
`inventory.services`, and the order, its lines, fulfilments, their lines, their first status
change, the payment and the confirmation notification are written in bulk. Its query count does
not grow with the number of lines: every read and write is one statement per kind of row, per
location serving the order.

Loyalty (the contract in `customers.loyalty`): points used to pay are spent under the order
number and come off the total as `discount_total`; the customer then earns on what she paid,
whatever the channel. Both run after the stock moved, so every service takes the customer's
loyalty account lock last (returns and cancellations too): no lock cycle with the stock rows.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.loyalty import loyalty_points_value
from customers.models import Customer
from customers.services import loyalty_earn, loyalty_spend
from inventory import services as stock
from inventory.allocation import get_strategy
from inventory.availability import free_sql, units_available
from inventory.exceptions import InsufficientStock, ServiceNotOffered
from inventory.models import Location, LocationKind, Product, StockLevel, Variant
from inventory.selectors import locations, pickup_ready_at
from inventory.services import StockLine
from omni.actors import acting_user
from omni.db import Insert, insert_together, model_from_row
from orders.checkout.discounts import Discount, discount_lines, discount_redeem, discount_reserve
from orders.checkout.exceptions import (
    AddressRequired,
    EmptyCart,
    InvalidPayment,
    OutOfStock,
    PaymentMismatch,
    PointsExceedTotal,
    PointsNeedCustomer,
)
from orders.checkout.types import (
    DeliveryChoice,
    FulfilmentChoice,
    PaymentInfo,
    PickupChoice,
    StoreSaleChoice,
)
from orders.models import (
    Cart,
    CartLine,
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    FulfilmentStatus,
    FulfilmentTransition,
    NotificationKind,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
)
from orders.services.cart import cart_convert_open_of, cart_mark_converted
from orders.services.fulfilment import pickup_days
from orders.services.notifications import NOTIFICATION, notification_new, notification_queued

CENT = Decimal("0.01")
NUMBER_PREFIX = "OM-"
RECORDABLE_PAYMENTS = (PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED)

# The checkout's writes, as two statements (`insert_together`): the order (its id drawn before,
# see `_cart_lines_sql`), its lines, fulfilments and payment; then the fulfilments' lines, their
# first status change and the confirmation. Written out rather than through `bulk_create` per
# model: one round trip replaces seven, with no savepoint around the two that may conflict.
# bench/checkout.py `--without statements` (the same checkouts through `bulk_create` per model,
# alternating in one run; 2-core machine, 2026-12-08): 1.04x and 1.07x checkouts per second
# (rounds 0.89-1.29), 1.17x and 1.22x together with `_prefetched` (rounds 1.01-1.47); the
# compiled INSERT shapes they replaced gave 1.15x and 1.19x on 2026-12-07. Checked against their
# models by tests/omni/test_statements.py.
ORDER = Insert(
    Order,
    """INSERT INTO orders_order (id, number, customer_id, channel, status, store_id, cart_id,
        currency, subtotal, discount_total, shipping_total, total, vat_total, discount_code,
        discount_label, code_discount, ship_to_name, ship_to_line1, ship_to_line2,
        ship_to_postal_code, ship_to_city, ship_to_country, ship_to_phone, placed_by_id,
        attention_reason, placed_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s, %s, %s, %s, %s, %s)
    RETURNING id""",
)
ORDER_LINES = Insert(
    OrderLine,
    """INSERT INTO orders_orderline (order_id, variant_id, sku, name, quantity, unit_price,
        vat_rate, line_total, vat_amount, discount_amount)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[],
        %s::integer[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
        %s::numeric[])
    RETURNING id""",
)
FULFILMENTS = Insert(
    Fulfilment,
    """INSERT INTO orders_fulfilment (order_id, kind, status, reference, location_id,
        source_location_id, pickup_code, promised_ready_at, pickup_deadline, ready_at,
        collected_at, reminder_sent_at, carrier, tracking_number, shipped_at, delivered_at,
        rejection_reason, created_at, updated_at)
    SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[],
        %s::bigint[], %s::bigint[], %s::varchar[], %s::timestamptz[], %s::timestamptz[],
        %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::varchar[], %s::varchar[],
        %s::timestamptz[], %s::timestamptz[], %s::varchar[], %s::timestamptz[],
        %s::timestamptz[])
    RETURNING id""",
)
# A payment reference is unique: a twin waits for the other transaction, then writes nothing.
PAYMENT = Insert(
    Payment,
    """INSERT INTO orders_payment (order_id, provider, reference, status, amount, currency,
        recorded_by_id, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id""",
)
FULFILMENT_LINES = Insert(
    FulfilmentLine,
    """INSERT INTO orders_fulfilmentline (fulfilment_id, order_line_id, quantity)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::integer[])
    RETURNING id""",
)
TRANSITIONS = Insert(
    FulfilmentTransition,
    """INSERT INTO orders_fulfilmenttransition (fulfilment_id, from_status, to_status,
        performed_by_id, note, at)
    SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::integer[],
        %s::varchar[], %s::timestamptz[])
    RETURNING id""",
)


@dataclass
class _Plan:
    """One fulfilment to write: who serves which units, and how the stock moves."""

    kind: str
    status: str
    location: Location
    lines: list[StockLine]
    source: Location | None = None  # a pickup served by a transfer: where the stock is held
    promised_ready_at: datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def stock_location(self) -> Location:
        return self.source or self.location


def vat_of(amount: Decimal, rate: Decimal) -> Decimal:
    """The VAT included in a VAT-inclusive amount, to the cent (half up)."""
    return (amount * rate / (Decimal(100) + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def _order_lines(cart_lines: list[CartLine]) -> list[OrderLine]:
    lines = []
    for line in cart_lines:
        variant = line.variant
        total = variant.price * line.quantity
        rate = variant.product.vat_rate
        lines.append(
            OrderLine(
                variant=variant,
                sku=variant.sku,
                name=variant.name,
                quantity=line.quantity,
                unit_price=variant.price,
                vat_rate=rate,
                line_total=total,
                vat_amount=vat_of(total, rate),
            )
        )
    return lines


def _check_payment(payment: PaymentInfo | None, total: Decimal) -> None:
    if payment is None:
        return
    if payment.status not in RECORDABLE_PAYMENTS:
        raise InvalidPayment(fields={"payment": {"status": [InvalidPayment.default_detail]}})
    if Decimal(payment.amount) != total:
        message = _("The payment amount (%(amount)s) must equal the order total (%(total)s).") % {
            "amount": payment.amount,
            "total": total,
        }
        raise PaymentMismatch(message, total=str(total), fields={"payment": {"amount": [message]}})


def _out_of_stock(lines: list[OrderLine], variant_ids: Iterable[int]) -> OutOfStock:
    short = set(variant_ids)
    skus = [line.sku for line in lines if line.variant_id in short]
    return OutOfStock(_("Not enough stock for: %(skus)s.") % {"skus": ", ".join(skus)}, skus=skus)


def _stock_lines(lines: list[OrderLine]) -> list[StockLine]:
    return [StockLine(line.variant_id, line.quantity) for line in lines]


def _plan_delivery(lines: list[OrderLine]) -> list[_Plan]:
    allocation = get_strategy().allocate(lines=_stock_lines(lines))
    if not allocation.is_complete:
        raise _out_of_stock(lines, [line.variant_id for line in allocation.unallocated])
    return [
        _Plan(FulfilmentKind.DELIVERY, FulfilmentStatus.PLACED, part.location, list(part.lines))
        for part in allocation.fulfilments
    ]


def _plan_pickup(
    lines: list[OrderLine], store: Location, now: datetime, shelf: dict[int, int]
) -> list[_Plan]:
    """From the store's shelf what it has (`shelf`: units it can promise, per variant); the rest
    transferred from the warehouses."""
    if not (store.is_store and store.is_active and store.click_and_collect):
        raise ServiceNotOffered(
            _("This store does not offer click-and-collect."),
            fields={"fulfilment": {"store": [_("This store does not offer click-and-collect.")]}},
        )
    here = [line for line in lines if shelf.get(line.variant_id, 0) >= line.quantity]
    missing = [line for line in lines if line not in here]
    plans = []
    if here:
        ready = pickup_ready_at(location=store, at=now)
        plans.append(
            _Plan(
                FulfilmentKind.CLICK_AND_COLLECT,
                FulfilmentStatus.RESERVED,
                store,
                _stock_lines(here),
                promised_ready_at=ready,
            )
        )
    if missing:
        warehouses = list(locations().active().filter(kind=LocationKind.WAREHOUSE))
        allocation = get_strategy().allocate(lines=_stock_lines(missing), candidates=warehouses)
        if not allocation.is_complete:
            raise _out_of_stock(lines, [line.variant_id for line in allocation.unallocated])
        arrival = now + timedelta(days=store.transfer_lead_days)
        ready = pickup_ready_at(location=store, at=arrival)
        plans.extend(
            _Plan(
                FulfilmentKind.CLICK_AND_COLLECT,
                FulfilmentStatus.AWAITING_TRANSFER,
                store,
                list(part.lines),
                source=part.location,
                promised_ready_at=ready,
            )
            for part in allocation.fulfilments
        )
    code = f"{secrets.randbelow(10**6):06d}"
    for plan in plans:
        deadline = plan.promised_ready_at and plan.promised_ready_at + timedelta(days=pickup_days())
        plan.extra = {"pickup_code": code, "pickup_deadline": deadline}
    return plans


def _plan_store_sale(lines: list[OrderLine], store: Location) -> list[_Plan]:
    if not store.is_store:
        raise ServiceNotOffered(_("Only a store sells at the till."))
    return [
        _Plan(FulfilmentKind.STORE_SALE, FulfilmentStatus.COMPLETED, store, _stock_lines(lines))
    ]


def _plan(
    choice: FulfilmentChoice, lines: list[OrderLine], now: datetime, shelf: dict[int, int]
) -> list[_Plan]:
    if isinstance(choice, PickupChoice):
        return _plan_pickup(lines, choice.store, now, shelf)
    if isinstance(choice, StoreSaleChoice):
        return _plan_store_sale(lines, choice.store)
    return _plan_delivery(lines)


def _move_stock(
    plans: list[_Plan], references: list[str], lines: list[OrderLine], staff: User | None
) -> None:
    # Locations in primary-key order: two checkouts served by the same locations lock their stock
    # rows in the same order, so a split delivery never deadlocks with another.
    planned = sorted(
        zip(plans, references, strict=True),
        key=lambda pair: (
            (
                pair[0].location
                if pair[0].kind == FulfilmentKind.STORE_SALE
                else pair[0].stock_location
            ).pk
        ),
    )
    try:
        for plan, reference in planned:
            if plan.kind == FulfilmentKind.STORE_SALE:
                stock.stock_sell(
                    location=plan.location,
                    lines=plan.lines,
                    reference=reference,
                    performed_by=staff,
                    savepoint=False,  # an error here fails the whole checkout (re-raised below)
                )
            else:
                stock.stock_reserve(
                    location=plan.stock_location,
                    lines=plan.lines,
                    reference=reference,
                    expires_at=None,  # the orders lifecycles release order reservations
                    performed_by=staff,
                    for_pickup=plan.kind == FulfilmentKind.CLICK_AND_COLLECT and not plan.source,
                    savepoint=False,
                )
    except InsufficientStock as error:
        raise _out_of_stock(lines, error.extra.get("variant_ids", [])) from error


def _write_order(
    order: Order,
    lines: list[OrderLine],
    plans: list[_Plan],
    references: list[str],
    payment: PaymentInfo | None,
    staff: User | None,
) -> tuple[list[Fulfilment], list[Payment]]:
    """Write the order with its lines, fulfilments (their lines and first status change),
    payment and confirmation: two statements, whatever the number of lines and fulfilments."""
    for line in lines:
        line.order = order
    fulfilments = [
        Fulfilment(
            order=order,
            kind=plan.kind,
            status=plan.status,
            reference=reference,
            location=plan.location,
            source_location=plan.source,
            promised_ready_at=plan.promised_ready_at,
            **plan.extra,
        )
        for plan, reference in zip(plans, references, strict=True)
    ]
    payments = [] if payment is None else [_payment_row(order, payment, staff)]
    # The payment's insert is ON CONFLICT DO NOTHING: no savepoint, and a concurrent twin of
    # its reference waits for the other transaction like a plain INSERT.
    written = insert_together(
        (ORDER, [order]), (ORDER_LINES, lines), (FULFILMENTS, fulfilments), (PAYMENT, payments)
    )
    if payments and not written[3]:
        message = _("This payment is already recorded on another order.")
        raise InvalidPayment(message, fields={"payment": {"reference": [message]}})
    by_variant = {line.variant_id: line for line in lines}
    fulfilment_lines = [
        FulfilmentLine(fulfilment=fulfilment, order_line=by_variant[variant_id], quantity=quantity)
        for fulfilment, plan in zip(fulfilments, plans, strict=True)
        for variant_id, quantity in plan.lines
    ]
    transitions = [
        FulfilmentTransition(fulfilment=fulfilment, to_status=fulfilment.status, performed_by=staff)
        for fulfilment in fulfilments
    ]
    confirmation = notification_new(order=order, kind=NotificationKind.ORDER_CONFIRMED)
    notifications = [] if confirmation is None else [confirmation]
    written = insert_together(
        (FULFILMENT_LINES, fulfilment_lines),
        (TRANSITIONS, transitions),
        (NOTIFICATION, notifications),
    )
    if confirmation is not None:  # sent after commit, once (its key is unique)
        notification_queued(confirmation, written=bool(written[2]))
    for fulfilment in fulfilments:
        _prefetched(
            fulfilment, lines=[line for line in fulfilment_lines if line.fulfilment is fulfilment]
        )
    return fulfilments, payments


def order_checkout(
    *,
    cart: Cart | None = None,
    customer: Customer | None = None,
    channel: str,
    fulfilment: FulfilmentChoice,
    payment: PaymentInfo | None,
    performed_by: User | None = None,
    loyalty_points: int = 0,
    discount_code: str = "",
    savepoint: bool = True,
) -> Order:
    """Turn the customer's cart into an order, reserving (or, at the till, selling) its stock.

    Give the `cart`, or the `customer` whose open cart it is (found and closed in one statement).

    `loyalty_points` of the customer pay part of it: their value is the order's discount, and
    the payment covers the rest. She earns points on what she paid. A `discount_code` (one of
    hers, see orders.checkout.discounts) is taken for this order and comes off its lines. The
    order is returned with its lines, fulfilments (and their lines), payments and returns
    prefetched, as written.

    `savepoint=False` is for a caller whose own transaction is rolled back as a whole when the
    checkout raises (the checkout API, with its idempotency key): it saves the SAVEPOINT/RELEASE
    round trips; a caught error then leaves that transaction unusable.

    Raises:
        AddressRequired: a home delivery without a delivery address.
        CartNotEditable: the cart is already ordered, merged or abandoned.
        EmptyCart: the cart has no lines, or the customer no open cart.
        ServiceNotOffered: a pickup at a store without click-and-collect.
        OutOfStock: a line cannot be served by this fulfilment choice (the SKUs are named).
        InvalidPayment, PaymentMismatch: the payment is not authorised or captured, or its
            amount is not the order total.
        UnknownVariant: a line's article is no longer sold.
        InsufficientPoints: she holds fewer than `loyalty_points`.
        PointsNeedCustomer, PointsExceedTotal: points on a walk-in sale, or worth more than
            the order.
        CustomerNotLive: the cart's customer was merged or erased.
        ValidationError: negative `loyalty_points`.
        InvalidDiscountCode: the code is unknown, expired, used or another customer's.
    Nothing is written when it raises.
    """
    if isinstance(fulfilment, DeliveryChoice) and fulfilment.address is None:
        raise AddressRequired()
    if loyalty_points < 0:
        raise ValidationError({"loyalty_points": _("Points used cannot be negative.")})
    staff = acting_user(performed_by)
    now = timezone.now()
    if (cart is None) == (customer is None):
        raise TypeError("pass exactly one of cart and customer")
    with transaction.atomic(savepoint=savepoint):
        if cart is None:
            assert customer is not None  # exactly one of the two, checked above
            cart = cart_convert_open_of(customer=customer)
            if cart is None:
                raise EmptyCart()
            cart.customer = customer  # already loaded: the loyalty calls need her
            cart_given = cart
        else:
            cart_given = cart
            cart = cart_mark_converted(cart=cart)
        cart_lines, order_id = _cart_lines(cart, fulfilment)
        if not cart_lines:
            raise EmptyCart()
        lines = _order_lines(cart_lines)
        code = _discount(discount_code, lines, cart, cart_given, now)
        subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
        shipping = getattr(fulfilment, "shipping_total", Decimal("0.00"))
        discount = _points_discount(cart, loyalty_points, subtotal + shipping)
        total = subtotal + shipping - discount
        _check_payment(payment, total)
        shelf = {line.variant_id: getattr(line, "shelf", None) or 0 for line in cart_lines}
        plans = _plan(fulfilment, lines, now, shelf)

        number = f"{NUMBER_PREFIX}{order_id:08d}"
        references = [f"{number}-{index}" for index in range(1, len(plans) + 1)]
        _move_stock(plans, references, lines, staff)

        sale = isinstance(fulfilment, StoreSaleChoice)
        order = Order(
            pk=order_id,
            number=number,
            customer_id=cart.customer_id,
            channel=channel,
            status=OrderStatus.COMPLETED if sale else OrderStatus.PLACED,
            store=fulfilment.store if isinstance(fulfilment, StoreSaleChoice) else None,
            cart=cart,
            currency=cart_lines[0].variant.currency,
            subtotal=subtotal,
            discount_total=discount,
            shipping_total=shipping,
            total=total,
            vat_total=sum((line.vat_amount for line in lines), Decimal("0.00")),
            placed_by=staff,
            **_discount_fields(code, lines),
            **_ship_to(fulfilment),
        )
        fulfilments, payments = _write_order(order, lines, plans, references, payment, staff)
        if code is not None:
            discount_redeem(discount=code, order=order)
        _loyalty(order, _customer_of(cart, given=cart_given), loyalty_points, staff)
    # Everything the tracking view shows is in hand: a caller serializes the order without
    # reading it back (the checkout API's answer cost as much as the checkout's own writes).
    _prefetched(order, lines=lines, fulfilments=fulfilments, payments=payments, returns=[])
    return order


def _columns(model: type[Model], alias: str, quote: Callable[[str], str]) -> tuple[list[str], str]:
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    # A concrete field has a column (the stubs' Field.column allows None).
    return names, ", ".join(f"{alias}.{quote(cast(str, f.column))}" for f in fields)


@functools.cache
def _cart_lines_sql(database: str) -> tuple[tuple[list[str], list[str], list[str]], str]:
    """The statement of `_cart_lines`, written once per process and database (the ORM took
    longer to compile its `select_related` and shelf subquery than PostgreSQL took to run them):
    the lines with their variant and product, the free units (on hand - reserved) of each at the
    store of a pickup and the safety stock that store keeps back for pickups (NULL without a
    stock level or without a store: `_cart_lines` applies `units_available`), and the new
    order's id, drawn once from its sequence (`new_order`: one round trip fewer)."""
    quote = connections[database].ops.quote_name
    line_names, line_columns = _columns(CartLine, "cl", quote)
    variant_names, variant_columns = _columns(Variant, "v", quote)
    product_names, product_columns = _columns(Product, "p", quote)
    sql = f"""
        WITH new_order AS MATERIALIZED (  -- nextval once, whatever the number of lines
            SELECT nextval(pg_get_serial_sequence('{Order._meta.db_table}', 'id')) AS id
        )
        SELECT {line_columns}, {variant_columns}, {product_columns},
            {free_sql("s")}, l.safety_stock_pickup, new_order.id
        FROM new_order CROSS JOIN {CartLine._meta.db_table} cl
        JOIN {Variant._meta.db_table} v ON v.id = cl.variant_id
        JOIN {Product._meta.db_table} p ON p.id = v.product_id
        LEFT JOIN {StockLevel._meta.db_table} s
            ON s.variant_id = cl.variant_id AND s.location_id = %s
        LEFT JOIN {Location._meta.db_table} l ON l.id = s.location_id
        WHERE cl.cart_id = %s
        ORDER BY cl.variant_id
    """
    return (line_names, variant_names, product_names), sql


def _cart_lines(cart: Cart, choice: FulfilmentChoice) -> tuple[list[CartLine], int | None]:
    """The cart's lines with their articles, in variant order, and the new order's id drawn from
    its sequence (None when the cart has no line). For a pickup each line also carries `shelf`:
    the units its store can promise for it (None without a stock level), read in the same
    query."""
    store_id = choice.store.pk if isinstance(choice, PickupChoice) else None
    (line_names, variant_names, product_names), sql = _cart_lines_sql(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [store_id, cart.pk])
        rows = cursor.fetchall()
    alias = connection.alias
    lines = []
    first = len(line_names)
    second = first + len(variant_names)
    third = second + len(product_names)
    for row in rows:
        line = model_from_row(CartLine, alias, line_names, row[:first])
        variant = model_from_row(Variant, alias, variant_names, row[first:second])
        variant.product = model_from_row(Product, alias, product_names, row[second:third])
        line.variant = variant
        free, safety_stock = row[third], row[third + 1]
        # An attribute of this read only (not a field), read back with getattr(line, "shelf").
        line.shelf = None if free is None else units_available(free, safety_stock)  # type: ignore[attr-defined]
        lines.append(line)
    return lines, rows[0][third + 2] if rows else None


def _prefetched(instance: Model, **related: list) -> None:
    """Fill `instance`'s related managers as `prefetch_related` would, from rows just written.

    `.all()` then reads these rows; `.filter()`, `.get()` and `refresh_from_db()` still query.
    The answer to a checkout renders the new order with its lines, fulfilments and payments:
    without this, reading them back cost 1.19x and 1.26x the checkouts per second (two runs of
    bench/checkout.py `--without prefetched`, rounds 1.07-1.50). Django internals, pinned by
    tests/omni/test_django_internals.py.
    """
    cache = getattr(instance, "_prefetched_objects_cache", {})
    for name, rows in related.items():
        queryset = getattr(instance, name).get_queryset()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        cache[name] = queryset
    instance._prefetched_objects_cache = cache  # type: ignore[attr-defined]  # Django's, unstubbed


def _points_discount(cart: Cart, points: int, payable: Decimal) -> Decimal:
    """What `points` take off an order worth `payable` (checked before anything is written)."""
    if not points:
        return Decimal("0.00")
    if cart.customer_id is None:
        raise PointsNeedCustomer()
    value = loyalty_points_value(points)
    if value > payable:
        message = _("%(points)s points are worth %(value)s, more than the order (%(total)s).") % {
            "points": points,
            "value": value,
            "total": payable,
        }
        raise PointsExceedTotal(message, fields={"loyalty_points": [message]})
    return value


def _discount(
    code: str, lines: list[OrderLine], cart: Cart, given: Cart, now: datetime
) -> Discount | None:
    """Take the discount code for this checkout (locked until commit) and apply it to the lines.

    Before the stock moves: a refused code fails fast, and the code's lock is never taken while
    holding stock rows another checkout waits for.
    """
    if not (code or "").strip():
        return None
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    customer = _customer_of(cart, given=given)
    discount = discount_reserve(code=code, customer=customer, subtotal=subtotal, at=now)
    discount_lines(lines, discount, vat_of=vat_of)
    return discount


def _discount_fields(discount: Discount | None, lines: list[OrderLine]) -> dict:
    if discount is None:
        return {}
    return {
        "discount_code": discount.code,
        "discount_label": discount.label[:200],
        "code_discount": sum((line.discount_amount for line in lines), Decimal("0.00")),
    }


def _customer_of(cart: Cart, *, given: Cart) -> Customer | None:
    """The cart's customer, without a query when the caller's cart already carries her."""
    if cart.customer_id is None:
        return None
    if given.customer_id == cart.customer_id and Cart.customer.is_cached(given):
        return given.customer
    return Customer.objects.get(pk=cart.customer_id)


def _loyalty(order: Order, customer: Customer | None, points: int, staff: User | None) -> None:
    """Spend the points used to pay, then earn on what was paid: one rule set, every channel."""
    if customer is None:
        return
    if points:
        loyalty_spend(
            customer=customer,
            points=points,
            reference=order.number,
            channel=order.channel,
            performed_by=staff,
        )
    if customer.is_live:  # an erased or merged profile earns nothing (its cart is a leftover)
        loyalty_earn(
            customer=customer,
            amount=order.total,
            reference=order.number,
            channel=order.channel,
            performed_by=staff,
        )


def _ship_to(fulfilment: FulfilmentChoice) -> dict[str, str]:
    """The delivery address as Order fields (none for a pickup or a till sale)."""
    address = getattr(fulfilment, "address", None)
    if address is None:
        return {}
    return {f"ship_to_{name}": value for name, value in asdict(address).items()}


def _payment_row(order: Order, payment: PaymentInfo, staff: User | None) -> Payment:
    return Payment(
        order=order,
        provider=payment.provider,
        reference=payment.reference,
        status=payment.status,
        amount=payment.amount,
        currency=order.currency,
        recorded_by=staff,
    )
