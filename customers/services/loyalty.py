"""Every change of a loyalty balance: locked, ledgered, all or nothing.

Each service locks the customer's account row (`SELECT ... FOR UPDATE`, or the upsert that opens
it), checks under the lock, writes the movement and the new balance in one transaction; the CHECK
on the balance is the backstop. Earning, spending and giving back spent points are idempotent
per (kind, reference): a replay (a task delivered twice, a retried checkout) returns the first
movement and writes nothing.
"""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from typing import Any, Literal, overload

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exceptions import CustomerNotLive
from customers.loyalty.exceptions import InsufficientPoints, LoyaltyReferenceUsed
from customers.loyalty.rules import points_for
from customers.models import Customer
from customers.models_loyalty import LoyaltyAccount, LoyaltyMovement, LoyaltyMovementKind
from omni.db import Insert, insert_unless_conflict_sql, inserted

Kind = LoyaltyMovementKind

# A movement is unique by (kind, reference, key): earning or spending twice writes nothing.
# Run as the CTE of the UPDATE that credits the account (`_insert_and_credit`).
MOVEMENT = Insert(
    LoyaltyMovement,
    """INSERT INTO customers_loyaltymovement (account_id, kind, points, amount, shortfall,
        reference, key, channel, reason, performed_by_id, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id""",
)


@overload
def _locked_account(customer: Customer, *, create: Literal[True] = True) -> LoyaltyAccount: ...
@overload
def _locked_account(customer: Customer, *, create: bool) -> LoyaltyAccount | None: ...
def _locked_account(customer: Customer, *, create: bool = True) -> LoyaltyAccount | None:
    """The customer's account, locked until the end of the transaction; created if asked."""
    if not create:
        return LoyaltyAccount.objects.select_for_update().filter(customer_id=customer.pk).first()
    # One upsert instead of get_or_create (a SELECT, then a savepoint around an INSERT): ON
    # CONFLICT DO UPDATE locks the existing row as SELECT ... FOR UPDATE would.
    table = LoyaltyAccount._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, balance, created_at, updated_at) "
            f"VALUES (%s, 0, %s, %s) ON CONFLICT (customer_id) "
            f"DO UPDATE SET balance = {table}.balance "
            f"RETURNING id, customer_id, balance, created_at, updated_at",
            [customer.pk, now, now],
        )
        row = cursor.fetchone()
    return LoyaltyAccount.from_db(
        connection.alias, ["id", "customer_id", "balance", "created_at", "updated_at"], row
    )


def _replay(*, account: LoyaltyAccount, kind: str, reference: str) -> LoyaltyMovement | None:
    """The movement already recorded for (kind, reference), if any."""
    found = LoyaltyMovement.objects.filter(kind=kind, reference=reference, key="").first()
    if found is not None and found.account_id != account.pk:
        raise LoyaltyReferenceUsed(reference=reference)
    return found


def _record(*, account: LoyaltyAccount, points: int, **fields: Any) -> LoyaltyMovement:
    account.balance += points
    account.save(update_fields=["balance", "updated_at"])
    return LoyaltyMovement.objects.create(account=account, points=points, **fields)


def _require_live(customer: Customer) -> None:
    if not customer.is_live:
        raise CustomerNotLive()


def _require_reference(reference: str) -> None:
    if not reference.strip():
        raise ValidationError({"reference": _("Give the reference (the order number).")})


def loyalty_earn(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str,
    channel: str,
    performed_by: User | None = None,
) -> LoyaltyMovement:
    """Credit the points a purchase of `amount` euros earns, whatever its channel.

    Raises:
        CustomerNotLive: the profile was merged or erased.
        LoyaltyReferenceUsed: this reference already earned points for another customer.
        ValidationError: a negative amount or no reference.
    """
    _require_live(customer)
    _require_reference(reference)
    if amount < 0:
        raise ValidationError({"amount": _("A purchase amount cannot be negative.")})
    # Every checkout earns, inside the checkout's transaction: two statements, no savepoint.
    # A refusal is raised outside the block, before anything of hers is written (so a caller
    # may catch it and go on); a concurrent twin turns the movement's insert into a no-op.
    with transaction.atomic(savepoint=False):
        account = _account_to_earn(customer, reference)
        if account is not None:
            movement = LoyaltyMovement(
                account=account,
                kind=Kind.EARN,
                points=points_for(amount),
                amount=amount,
                reference=reference,
                channel=channel,
                performed_by=performed_by,
            )
            if _insert_and_credit(account, movement):
                return movement
    # The reference had earned already, or a concurrent earn of it committed while we waited
    # for the account's lock (only such a race can leave her an empty account).
    movement_id, customer_id = _earned(reference)
    if customer_id != customer.pk:
        raise LoyaltyReferenceUsed(reference=reference)
    return LoyaltyMovement.objects.get(pk=movement_id)  # a replay


def _account_to_earn(customer: Customer, reference: str) -> LoyaltyAccount | None:
    """Her account, opened or locked by one upsert, unless `reference` already earned points
    (then None, and nothing is written or locked)."""
    table = LoyaltyAccount._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, balance, created_at, updated_at) "
            f"SELECT %s::bigint, 0, %s::timestamptz, %s::timestamptz WHERE NOT EXISTS ("
            f"  SELECT 1 FROM {LoyaltyMovement._meta.db_table} "
            f"  WHERE kind = %s AND reference = %s AND key = ''"
            f") ON CONFLICT (customer_id) DO UPDATE SET balance = {table}.balance "
            f"RETURNING id, customer_id, balance, created_at, updated_at",
            [customer.pk, now, now, Kind.EARN.value, reference],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return LoyaltyAccount.from_db(
        connection.alias, ["id", "customer_id", "balance", "created_at", "updated_at"], row
    )


def _earned(reference: str) -> tuple[int, int]:
    """(movement id, customer id) of the points `reference` earned."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT movement.id, account.customer_id "
            f"FROM {LoyaltyMovement._meta.db_table} AS movement "
            f"JOIN {LoyaltyAccount._meta.db_table} AS account ON account.id = movement.account_id "
            f"WHERE movement.kind = %s AND movement.reference = %s AND movement.key = ''",
            [Kind.EARN.value, reference],
        )
        return cursor.fetchone()


def _insert_and_credit(account: LoyaltyAccount, movement: LoyaltyMovement) -> bool:
    """Insert the movement unless its (kind, reference, key) exists, and only then add its
    points to the locked account: one statement. False (nothing written) on a conflict."""
    now = timezone.now()
    insert, params = insert_unless_conflict_sql(MOVEMENT, movement)
    table = LoyaltyAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH movement AS ({insert}) "
            f"UPDATE {table} SET balance = {table}.balance + %s, updated_at = %s "
            f"FROM movement WHERE {table}.id = %s "
            f"RETURNING movement.id, {table}.balance",
            [*params, movement.points, now, account.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    inserted(movement, pk=row[0])
    account.balance, account.updated_at = row[1], now
    return True


def loyalty_spend(
    *,
    customer: Customer,
    points: int,
    reference: str,
    channel: str,
    performed_by: User | None = None,
) -> LoyaltyMovement:
    """Debit `points` used to pay for `reference` (loyalty_points_value gives their euros).

    Raises:
        InsufficientPoints: the balance is lower than `points`; nothing is written.
        CustomerNotLive: the profile was merged or erased.
        LoyaltyReferenceUsed: points were already spent on this reference by another customer.
        ValidationError: points not positive or no reference.
    """
    _require_live(customer)
    _require_reference(reference)
    if points <= 0:
        raise ValidationError({"points": _("Spend at least one point.")})
    with transaction.atomic():
        account = _locked_account(customer)
        replay = _replay(account=account, kind=Kind.SPEND, reference=reference)
        if replay is not None:
            return replay
        if account.balance < points:
            raise InsufficientPoints(balance=account.balance, requested=points)
        return _record(
            account=account,
            kind=Kind.SPEND,
            points=-points,
            reference=reference,
            channel=channel,
            performed_by=performed_by,
        )


def _check_share(*, total: Decimal, amount_returned: Decimal) -> None:
    if total <= 0 or amount_returned < 0:
        raise ValidationError(_("The total must be positive and the amount returned not negative."))


def _locked_movement(
    customer: Customer, *, kind: str, reference: str
) -> tuple[LoyaltyAccount | None, LoyaltyMovement | None]:
    """Her account, locked until the end of the transaction, and its `kind` movement for
    `reference` (None for what does not exist)."""
    account = _locked_account(customer, create=False)
    if account is None:
        return None, None
    return account, account.movements.filter(kind=kind, reference=reference).first()


def loyalty_reverse(
    *,
    customer: Customer,
    reference: str,
    amount_returned: Decimal,
    total: Decimal,
    performed_by: User | None = None,
    return_reference: str = "",
    channel: str = "",
) -> LoyaltyMovement | None:
    """Take back, pro rata, the points `reference` earned, for goods worth `amount_returned`.

    Several partial returns add up: the points taken back in all are those earned times the
    share of `total` returned so far (rounded down, so a full return takes them all). If the
    balance is too low, it goes to zero and the points missing are recorded as `shortfall`.
    Give `return_reference` (the return's own reference) to make a replay do nothing. Returns
    None when the reference earned nothing (no movement is written).

    Raises:
        ValidationError: total not positive, or amount_returned negative.
    """
    _check_share(total=total, amount_returned=amount_returned)
    with transaction.atomic():
        account, earn = _locked_movement(customer, kind=Kind.EARN, reference=reference)
        if account is None or earn is None:
            return None
        key = return_reference or f"auto-{uuid.uuid4().hex}"
        replay = account.movements.filter(
            kind=Kind.REVERSE_EARN, reference=reference, key=key
        ).first()
        if replay is not None:
            return replay
        before = account.movements.filter(kind=Kind.REVERSE_EARN, reference=reference).aggregate(
            returned=Sum("amount", default=Decimal(0)),
            points=Sum("points", default=0),
            shortfall=Sum("shortfall", default=0),
        )
        returned = min(total, -before["returned"] + amount_returned)
        due_in_all = math.floor(Decimal(earn.points) * returned / total)
        due = max(due_in_all - (-before["points"] + before["shortfall"]), 0)
        taken = min(due, account.balance)
        return _record(
            account=account,
            kind=Kind.REVERSE_EARN,
            points=-taken,
            shortfall=due - taken,
            amount=-(returned + before["returned"]),  # only this return's share, negative
            reference=reference,
            key=key,
            channel=channel or earn.channel,
            performed_by=performed_by,
        )


def loyalty_spend_reverse(
    *,
    customer: Customer,
    reference: str,
    channel: str = "",
    performed_by: User | None = None,
) -> LoyaltyMovement | None:
    """Give back the points spent on `reference` (an order cancelled); None if none were spent."""
    with transaction.atomic():
        account = _locked_account(customer, create=False)
        if account is None:
            return None
        spend = account.movements.filter(kind=Kind.SPEND, reference=reference).first()
        if spend is None:
            return None
        replay = _replay(account=account, kind=Kind.REVERSE_SPEND, reference=reference)
        if replay is not None:
            return replay
        return _record(
            account=account,
            kind=Kind.REVERSE_SPEND,
            points=-spend.points,
            reference=reference,
            channel=channel or spend.channel,
            performed_by=performed_by,
        )


def loyalty_spend_return(
    *,
    customer: Customer,
    reference: str,
    amount_returned: Decimal,
    total: Decimal,
    return_reference: str,
    channel: str = "",
    performed_by: User | None = None,
) -> LoyaltyMovement | None:
    """Give back, pro rata, the points spent on `reference` for goods worth `amount_returned`
    of the `total` they paid for (a return: she gets back in points what she paid in points).

    Several partial returns add up: the points given back in all are those spent times the
    share of `total` returned so far (rounded down, so a full return gives them all back).
    Keyed by `return_reference`: a replay gives nothing twice. None when nothing was spent on
    `reference`, or the share is worth less than a point.

    Raises:
        ValidationError: total not positive, or amount_returned negative.
    """
    _check_share(total=total, amount_returned=amount_returned)
    with transaction.atomic():
        account, spend = _locked_movement(customer, kind=Kind.SPEND, reference=reference)
        if account is None or spend is None:
            return None
        given = account.movements.filter(kind=Kind.REVERSE_SPEND, reference=reference)
        replay = given.filter(key=return_reference).first()
        if replay is not None:
            return replay
        before = given.aggregate(
            returned=Sum("amount", default=Decimal(0)), points=Sum("points", default=0)
        )
        returned = min(total, before["returned"] + amount_returned)
        due = math.floor(Decimal(-spend.points) * returned / total) - before["points"]
        if due <= 0:
            return None
        return _record(
            account=account,
            kind=Kind.REVERSE_SPEND,
            points=due,
            amount=returned - before["returned"],  # the goods this return gave back
            reference=reference,
            key=return_reference,
            channel=channel or spend.channel,
            performed_by=performed_by,
        )


def loyalty_adjust(
    *, customer: Customer, points: int, reason: str, performed_by: User | None
) -> LoyaltyMovement:
    """Add (or remove, when negative) points by hand, saying why: a goodwill gesture, a fix.

    Raises:
        InsufficientPoints: removing more than the balance; nothing is written.
        ValidationError: no reason, or zero points.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    if points == 0:
        raise ValidationError({"points": _("Adjust by at least one point.")})
    with transaction.atomic():
        account = _locked_account(customer)
        if account.balance + points < 0:
            raise InsufficientPoints(balance=account.balance, requested=-points)
        return _record(
            account=account,
            kind=Kind.ADJUST,
            points=points,
            reason=reason.strip(),
            key=uuid.uuid4().hex,
            performed_by=performed_by,
        )


def merge_loyalty_accounts(*, winner: Customer, loser: Customer, performed_by: User | None) -> None:
    """Move the loser's movements and points into the winner's account (a merge hook).

    With one account only, the generic merge moves it as it is; with two, the loser's ledger is
    re-pointed to the winner's account (history and idempotency keys kept) and its empty
    account is removed, so the winner's balance stays the sum of its movements.
    """
    accounts = list(
        LoyaltyAccount.objects.select_for_update()
        .filter(Q(customer=winner) | Q(customer=loser))
        .order_by("pk")  # pk order: no deadlock
    )
    if len(accounts) < 2:
        return
    mine, theirs = sorted(accounts, key=lambda account: account.customer_id != winner.pk)
    theirs.movements.update(account=mine)
    mine.balance += theirs.balance
    mine.save(update_fields=["balance", "updated_at"])
    theirs.delete()
