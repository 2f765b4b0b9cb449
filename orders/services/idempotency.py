"""The idempotent checkout: the same key and request replay the same answer, never a second order.

The checkout API (`Idempotency-Key` header) and the staff till (a key in the pay form, so a
double click or a resubmitted page records one sale) both call `order_checkout_idempotent`. In
one transaction it inserts the key's row first, places the order (`order_checkout`), renders the
answer through the caller's `render` and stores it: a concurrent duplicate waits on the key's
insert, then replays the stored answer (same status, same body); the same key with another
request is refused (`IdempotencyKeyReused`). A refused checkout (out of stock, bad payment...)
rolls the key's row back with it: the caller may fix the cart and try again with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction

from omni.db import Insert, insert_unless_conflict
from orders.checkout.exceptions import IdempotencyKeyRequired, IdempotencyKeyReused
from orders.models import CheckoutRequest, Order
from orders.services.checkout import order_checkout

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from customers.models import Customer
    from orders.checkout.types import FulfilmentChoice, PaymentInfo
    from orders.models import Cart

MAX_KEY_LENGTH = 100  # CheckoutRequest.key
CREATED = 201


@dataclass(frozen=True)
class CheckoutAnswer:
    """What a keyed checkout answered: the order's rendering, stored under the key.

    `data` is the JSON-ready answer as stored (a replay gives the first answer, byte for byte
    once serialised); `order` is the order placed by this call, None on a replay.
    """

    status: int
    data: Any
    order_id: int
    replayed: bool
    order: Order | None = None


# A key is unique per scope: the second request's insert waits for the first, then writes nothing.
CHECKOUT_REQUEST = Insert(
    CheckoutRequest,
    """INSERT INTO orders_checkoutrequest (scope, key, request_hash, order_id, response_status,
        response_body, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id""",
)


def checkout_key(raw: str | None) -> str:
    """The idempotency key a caller sent, stripped.

    Raises:
        IdempotencyKeyRequired: no key, or one longer than a key's column (100 characters).
    """
    key = (raw or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyRequired()
    return key


def request_fingerprint(request: object) -> str:
    """The digest a replay of the key must match: `request` as canonical JSON, hashed."""
    text = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def order_checkout_idempotent(
    *,
    scope: str,
    key: str,
    request: object,
    render: Callable[[Order], object],
    cart: Cart | None = None,
    customer: Customer | None = None,
    channel: str,
    fulfilment: FulfilmentChoice,
    payment: PaymentInfo | None,
    performed_by: User | None = None,
    loyalty_points: int = 0,
    discount_code: str = "",
) -> CheckoutAnswer:
    """Place the order once per (`scope`, `key`): `order_checkout`, made safe to retry.

    `scope` names who sends the key (keys are unique per scope: "customer:<id>" for the API,
    "staff:<id>" for the till); `request` is what the caller received (JSON-ready), which a
    replay of the key must repeat; `render(order)` turns the new order into the JSON-ready
    answer stored for replays. The other arguments are `order_checkout`'s.

    Raises:
        IdempotencyKeyRequired: a blank or too long key.
        IdempotencyKeyReused: the key was used with another request.
        Whatever `order_checkout` raises; nothing is written then, not even the key.
    """
    key = checkout_key(key)
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        record = _claim(scope=scope, key=key, fingerprint=fingerprint)
        if record.response_status is not None:
            # A completed key: _complete stored its order and answer in the same UPDATE.
            return CheckoutAnswer(
                status=record.response_status,
                data=json.loads(cast(str, record.response_body)),
                order_id=cast(int, record.order_id),
                replayed=True,
            )
        order = order_checkout(
            cart=cart,
            customer=customer,
            channel=channel,
            fulfilment=fulfilment,
            payment=payment,
            performed_by=performed_by,
            loyalty_points=loyalty_points,
            discount_code=discount_code,
            # Any error rolls back this whole transaction, key included: no savepoint.
            savepoint=False,
        )
        # The order comes back with its lines, fulfilments and payment in hand: no re-read.
        # Kept as JSON text: jsonb would reorder the keys, and a replay must be identical.
        text = json.dumps(render(order), default=str)
        _complete(record=record, order=order, status=CREATED, body=text)
    return CheckoutAnswer(
        status=CREATED, data=json.loads(text), order_id=order.pk, replayed=False, order=order
    )


def _claim(*, scope: str, key: str, fingerprint: str) -> CheckoutRequest:
    """Insert the key's row, or wait for and lock the one a concurrent request inserted.

    Called inside the checkout's transaction. A returned row with a `response_status` is a
    replay: answer with its stored response.

    Raises:
        IdempotencyKeyReused: the key was used with another request.
    """
    record = CheckoutRequest(scope=scope, key=key, request_hash=fingerprint)
    # ON CONFLICT DO NOTHING waits for a concurrent insert of the key like a plain INSERT, with
    # no savepoint around it; nothing inserted means the first request has committed.
    if insert_unless_conflict(CHECKOUT_REQUEST, record):
        return record
    record = CheckoutRequest.objects.select_for_update().get(scope=scope, key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return record


def _complete(*, record: CheckoutRequest, order: Order, status: int, body: str) -> None:
    """Store the answer a replay of this key returns, byte for byte (`body` is JSON text)."""
    record.order, record.response_status, record.response_body = order, status, body
    record.save(update_fields=["order", "response_status", "response_body"])
