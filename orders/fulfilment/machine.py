"""The fulfilment state machine as data: which status may follow which, for each kind.

Kept free of queries so the screens can ask "which buttons?" and the tests can walk the whole
table. The rules that need the database (stock, codes, order status) live in `services`.
"""

from __future__ import annotations

from orders.models import FulfilmentKind, FulfilmentStatus

S = FulfilmentStatus

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    FulfilmentKind.CLICK_AND_COLLECT: {
        S.PLACED: frozenset({S.AWAITING_TRANSFER, S.RESERVED, S.CANCELLED}),
        S.AWAITING_TRANSFER: frozenset({S.RESERVED, S.CANCELLED}),
        S.RESERVED: frozenset({S.READY, S.CANCELLED}),
        S.READY: frozenset({S.COLLECTED, S.EXPIRED, S.CANCELLED}),
    },
    FulfilmentKind.DELIVERY: {
        S.PLACED: frozenset({S.ACCEPTED, S.PICKING, S.REJECTED, S.CANCELLED}),
        S.ACCEPTED: frozenset({S.PICKING, S.REJECTED, S.CANCELLED}),
        S.PICKING: frozenset({S.SHIPPED, S.REJECTED, S.CANCELLED}),
        S.SHIPPED: frozenset({S.DELIVERED}),
    },
    FulfilmentKind.STORE_SALE: {
        S.PLACED: frozenset({S.COMPLETED, S.CANCELLED}),
    },
}

# The goods reached the customer (or left for her): nothing can be cancelled any more.
HANDED_OVER = frozenset({S.COLLECTED, S.SHIPPED, S.DELIVERED, S.COMPLETED})
# Final and served / final and not served (a rejected parcel is replaced or flagged).
DONE = frozenset({S.COLLECTED, S.DELIVERED, S.COMPLETED})
DEAD = frozenset({S.CANCELLED, S.EXPIRED, S.REJECTED})

# The held units are sold / given back when a fulfilment enters these statuses.
COMMITS_STOCK = frozenset({S.COLLECTED, S.SHIPPED})
RELEASES_STOCK = DEAD

# Pickup queue sections at a store.
TO_PREPARE = (S.PLACED, S.AWAITING_TRANSFER, S.RESERVED)
TO_SHIP = (S.PLACED, S.ACCEPTED, S.PICKING)


def allowed_next(*, kind: str, status: str) -> frozenset[str]:
    """The statuses a fulfilment of `kind` may move to from `status` (empty when final)."""
    return TRANSITIONS.get(kind, {}).get(status, frozenset())


def is_final(*, kind: str, status: str) -> bool:
    """No transition leaves this status."""
    return not allowed_next(kind=kind, status=status)
