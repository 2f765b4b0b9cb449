"""Idempotency keys of the checkout API: the same key and body replay the same answer.

The key's row is inserted first, in the checkout's own transaction, so a concurrent duplicate
waits on it, then replays the stored answer; a refused checkout rolls the row back with it.
"""

from __future__ import annotations

from omni.db import insert_unless_conflict, update_row
from orders.checkout.exceptions import IdempotencyKeyReused
from orders.models import CheckoutRequest, Order


def checkout_request_claim(*, scope: str, key: str, fingerprint: str) -> CheckoutRequest:
    """Insert the key's row, or wait for and lock the one a concurrent request inserted.

    Call it inside the checkout's transaction. A returned row with a `response_status` is a
    replay: answer with its stored response.

    Raises:
        IdempotencyKeyReused: the key was used with another body.
    """
    record = CheckoutRequest(scope=scope, key=key, request_hash=fingerprint)
    # ON CONFLICT DO NOTHING waits for a concurrent insert of the key like a plain INSERT, with
    # no savepoint around it; nothing inserted means the first request has committed.
    if insert_unless_conflict(record):
        return record
    record = CheckoutRequest.objects.select_for_update().get(scope=scope, key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return record


def checkout_request_complete(
    *, record: CheckoutRequest, order: Order, status: int, body: str
) -> None:
    """Store the answer a replay of this key returns, byte for byte (`body` is JSON text)."""
    record.order, record.response_status, record.response_body = order, status, body
    update_row(record, "order", "response_status", "response_body")
