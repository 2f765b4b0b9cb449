"""The unified cart's operations: one transactional function each, shared by the API, the store
screens, the admin and the tasks.

Every mutating operation locks the cart row first (`SELECT ... FOR UPDATE`), so two channels
editing the same cart at once are serialised and no line or quantity is lost; every change
appends a `CartEvent` (channel, staff member, the shopper herself or not) in the same transaction.

Merge policy (anonymous cart at login, or two customer profiles merged), in `cart_merge`:

* each source line is added to the target: a variant already in the target gets the quantities
  added up (one line per variant), a new variant gets a new line that keeps the channel, staff
  member and unit price it was first added with;
* nothing is dropped: no cap, no quantity reduced, and the source cart keeps its own lines and
  trail, marked `merged` and pointing at the target;
* each merged line writes a `merge` event on the target naming the channel it was first added on;
* a target whose checkout has started (`checking_out`) is never merged into, nor is a cart merged
  into itself; merging an already merged source again changes nothing (a retried request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast, overload

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Channel, Customer
from inventory.models import Variant
from orders.exceptions import (
    CartLineNotFound,
    CartNotEditable,
    InvalidCartQuantity,
    VariantNotSold,
)
from orders.models import OPEN_STATUSES, Cart, CartAction, CartEvent, CartLine, CartStatus

# Beyond this a line is a typing error, not a purchase; a merge never caps (nothing is lost).
MAX_LINE_QUANTITY = 999


@dataclass(frozen=True)
class MergedLine:
    """One variant brought into the target cart by a merge, with its quantities."""

    variant_id: int
    sku: str
    quantity: int  # units brought over from the source
    quantity_before: int  # in the target, before the merge (0: a new line)
    quantity_after: int
    origin_channel: str  # where the source line was first added


@dataclass(frozen=True)
class MergeReport:
    """A cart merge: the source and target carts and the lines brought over."""

    source_id: int
    target_id: int
    lines: tuple[MergedLine, ...]
    already_merged: bool = False  # the same merge had been done before: nothing changed


# --- helpers -----------------------------------------------------------------------------------


def _by_customer(*, channel: str, performed_by: User | None) -> bool:
    """The shopper acted herself: no staff member, and not the back office acting alone."""
    return performed_by is None and channel != Channel.ADMIN


def _record(
    *, cart: Cart, action: str, channel: str, performed_by: User | None, **fields: Any
) -> CartEvent:
    return CartEvent.objects.create(
        cart=cart,
        action=action,
        channel=channel,
        performed_by=performed_by,
        by_customer=_by_customer(channel=channel, performed_by=performed_by),
        **fields,
    )


def _lock_editable(cart: Cart) -> Cart:
    """Lock the cart row for the rest of the transaction; refuse unless it is active."""
    locked = Cart.objects.select_for_update().get(pk=cart.pk)
    if locked.status != CartStatus.ACTIVE:
        raise CartNotEditable(status=locked.status)
    return locked


def _touch(cart: Cart) -> None:
    now = timezone.now()
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=now, updated_at=now)
    cart.last_activity_at = cart.updated_at = now


def _check_quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidCartQuantity()
    if not 0 < quantity <= MAX_LINE_QUANTITY:
        raise InvalidCartQuantity(
            _("Quantities must be between 1 and %(max)d.") % {"max": MAX_LINE_QUANTITY},
            max_quantity=MAX_LINE_QUANTITY,
        )
    return quantity


def _locked_line(cart: Cart, line_id: int) -> CartLine:
    line = cart.lines.select_related("variant").filter(pk=line_id).first()
    if line is None:
        raise CartLineNotFound(line=line_id)
    return line


# --- getting a cart ----------------------------------------------------------------------------


def cart_for_customer(*, customer: Customer, channel: str) -> Cart:
    """Return the customer's one open cart, creating it (on `channel`) if she has none.

    Race-safe: the partial unique constraint lets one of two concurrent creations win, the other
    then reads the winner's cart.
    """
    with transaction.atomic():
        cart = Cart.objects.filter(customer=customer, status__in=OPEN_STATUSES).first()
        if cart is not None:
            return cart
        try:
            with transaction.atomic():
                return Cart.objects.create(customer=customer, channel=channel)
        except IntegrityError:
            return Cart.objects.get(customer=customer, status__in=OPEN_STATUSES)


def cart_create_anonymous(*, channel: str) -> Cart:
    """Create a cart for a visitor who has not signed in; its token is her only credential."""
    with transaction.atomic():
        return Cart.objects.create(channel=channel)


# --- lines -------------------------------------------------------------------------------------


def cart_add_line(
    *,
    cart: Cart,
    variant: Variant,
    quantity: int,
    channel: str,
    performed_by: User | None = None,
) -> CartLine:
    """Add `quantity` of `variant`; a variant already in the cart gets the quantities added up.

    Raises:
        VariantNotSold: the variant or its product is not sold any more.
        InvalidCartQuantity: quantity below 1, or the line would exceed MAX_LINE_QUANTITY.
        CartNotEditable: the cart is not active (checkout started, ordered, merged...).
    """
    _check_quantity(quantity)
    if not (variant.is_active and variant.product.is_active):
        raise VariantNotSold(sku=variant.sku)
    with transaction.atomic():
        cart = _lock_editable(cart)
        line = cart.lines.filter(variant=variant).first()
        before = line.quantity if line else 0
        after = _check_quantity(before + quantity)
        if line is None:
            line = CartLine.objects.create(
                cart=cart,
                variant=variant,
                quantity=after,
                unit_price_seen=variant.price,
                currency=variant.currency,
                added_channel=channel,
                added_by=performed_by,
            )
        else:
            # Adding again means she sees today's price: that is the price she accepted.
            line.quantity = after
            line.unit_price_seen = variant.price
            line.currency = variant.currency
            line.save(update_fields=["quantity", "unit_price_seen", "currency", "updated_at"])
        _record(
            cart=cart,
            action=CartAction.ADD,
            channel=channel,
            performed_by=performed_by,
            variant=variant,
            quantity_before=before,
            quantity_after=after,
        )
        _touch(cart)
    return line


def cart_set_quantity(
    *,
    cart: Cart,
    line_id: int,
    quantity: int,
    channel: str,
    performed_by: User | None = None,
) -> CartLine:
    """Set the quantity of one line of this cart.

    Raises:
        CartLineNotFound: the line is not in this cart.
        InvalidCartQuantity: quantity below 1 or above MAX_LINE_QUANTITY (remove the line instead).
        CartNotEditable: the cart is not active.
    """
    _check_quantity(quantity)
    with transaction.atomic():
        cart = _lock_editable(cart)
        line = _locked_line(cart, line_id)
        before = line.quantity
        if before != quantity:
            line.quantity = quantity
            line.save(update_fields=["quantity", "updated_at"])
            _record(
                cart=cart,
                action=CartAction.CHANGE,
                channel=channel,
                performed_by=performed_by,
                variant=line.variant,
                quantity_before=before,
                quantity_after=quantity,
            )
            _touch(cart)
    return line


def cart_remove_line(
    *, cart: Cart, line_id: int, channel: str, performed_by: User | None = None
) -> None:
    """Remove one line of this cart.

    Raises:
        CartLineNotFound: the line is not in this cart.
        CartNotEditable: the cart is not active.
    """
    with transaction.atomic():
        cart = _lock_editable(cart)
        line = _locked_line(cart, line_id)
        _record(
            cart=cart,
            action=CartAction.REMOVE,
            channel=channel,
            performed_by=performed_by,
            variant=line.variant,
            quantity_before=line.quantity,
            quantity_after=0,
        )
        line.delete()
        _touch(cart)


def cart_record_open(*, cart: Cart, channel: str, performed_by: User) -> CartEvent:
    """Note that staff opened the cart (the trail then shows "seen in store")."""
    with transaction.atomic():
        return _record(
            cart=cart, action=CartAction.OPEN, channel=channel, performed_by=performed_by
        )


def cart_mark_converted(*, cart: Cart) -> Cart:
    """Close the cart: checkout has turned it into an order.

    Locks the cart row for the rest of the caller's transaction, so two checkouts of one cart
    are serialised and the second finds it closed; a checkout that fails later rolls this back.

    Raises:
        CartNotEditable: the cart is not open (already ordered, merged or abandoned).
    """
    # One conditional UPDATE ... RETURNING: it locks the row like SELECT ... FOR UPDATE, and a
    # concurrent checkout of the cart waits on it, then re-reads the status and matches nothing.
    # A single statement needs no atomic block (no savepoint pair inside the checkout).
    closed = _close_for_checkout("id = %s", [cart.pk])
    if closed is None:
        raise CartNotEditable(status=_status_of(cart.pk))
    return closed


def cart_convert_open_of(*, customer: Customer) -> Cart | None:
    """Close her open cart (she has at most one) for checkout, as `cart_mark_converted` does,
    in one statement; None when she has no open cart.

    Raises:
        CartNotEditable: her open cart was closed by a concurrent checkout while this waited.
    """
    open_ = [status.value for status in OPEN_STATUSES]
    # `chosen` reads her open cart in the statement's snapshot; the UPDATE waits for a
    # concurrent checkout of it and re-checks the status: chosen but not updated means that
    # checkout won, as when the cart is read first and locked after.
    closed, chosen = _close_for_checkout(
        "id IN (SELECT id FROM chosen)",
        [],
        chosen=(
            "SELECT id FROM {table} WHERE customer_id = %s AND status = ANY(%s)",
            [customer.pk, open_],
        ),
    )
    if closed is None and chosen is not None:
        raise CartNotEditable(status=_status_of(chosen))
    return closed


def _status_of(cart_id: int) -> str | None:
    return Cart.objects.filter(pk=cart_id).values_list("status", flat=True).first()


@overload
def _close_for_checkout(where: str, params: list, *, chosen: None = None) -> Cart | None: ...
@overload
def _close_for_checkout(
    where: str, params: list, *, chosen: tuple[str, list]
) -> tuple[Cart | None, int | None]: ...
def _close_for_checkout(
    where: str, params: list, *, chosen: tuple[str, list] | None = None
) -> Cart | tuple[Cart | None, int | None] | None:
    """UPDATE the matching open cart to CONVERTED, RETURNING it as a Cart (or None). With
    `chosen` (a CTE named chosen), also the id that CTE read: (cart or None, id or None)."""
    table = Cart._meta.db_table
    fields = list(Cart._meta.concrete_fields)
    # A concrete field has a column (the stubs' Field.column allows None).
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in fields)
    now = timezone.now()
    open_ = [status.value for status in OPEN_STATUSES]
    update = (
        f"UPDATE {table} SET status = %s, updated_at = %s, last_activity_at = %s "
        f"WHERE {where} AND status = ANY(%s) RETURNING {columns}"
    )
    update_params = [CartStatus.CONVERTED.value, now, now, *params, open_]
    if chosen is None:
        statement, statement_params = update, update_params
    else:
        statement = (
            f"WITH chosen AS ({chosen[0].format(table=table)}), updated AS ({update}) "
            f"SELECT (SELECT id FROM chosen LIMIT 1), updated.* "
            f"FROM (SELECT 1) AS one LEFT JOIN updated ON TRUE"
        )
        statement_params = [*chosen[1], *update_params]
    with connection.cursor() as cursor:
        cursor.execute(statement, statement_params)
        row = cursor.fetchone()
    if chosen is not None:
        chosen_id, row = row[0], row[1:]
        if row[0] is None:
            row = None
    cart = (
        None
        if row is None
        else Cart.from_db(connection.alias, [field.attname for field in fields], row)
    )
    return cart if chosen is None else (cart, chosen_id)
