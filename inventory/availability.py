"""The availability rule, once, in each form Omni evaluates it in.

- Free units of a stock level: on-hand - reserved (the units nobody holds).
- Available to a channel at a location: free units - the location's safety stock for that
  channel (`Location.safety_stock_pickup` / `safety_stock_delivery`), never below zero; no stock
  level at all is 0.
- A take of `quantity` units (a reservation or a sale) succeeds only when free units - `keep`
  (the units the operation keeps back, the safety stock or 0) still cover it.

The same rule runs in three places, so it is written three ways, side by side here:

- Python, on values already read: `free_units`, `units_available`, `can_take` (the
  `StockLevel.free` property, the store screens, the availability fast path and the checkout's
  cart lines, which read on-hand - reserved and the safety stock in their own statement);
- the ORM, in a query: `free_expression`, `available_expression` (stock lists, allocation,
  low stock);
- SQL, in the hand-written statements of the hot paths: `free_sql` and `take_condition_sql`
  (inventory/services/_ledger.py's `_TAKE_FREE_SQL`, the checkout's cart-lines statement and
  the availability statements of inventory/selectors.py).

tests/inventory/test_availability_rule.py checks that the three forms agree on any stock
(a property test on PostgreSQL), so a change to one that forgets the others fails there.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.db.models import F, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Greatest


class Channel(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


# --- Python ------------------------------------------------------------------------------------


def free_units(on_hand: int, reserved: int) -> int:
    """The units of a stock level nobody holds."""
    return on_hand - reserved


def units_available(free: int, safety_stock: int) -> int:
    """The units a stock level whose free units are `free` can promise, its location keeping
    `safety_stock` back for the channel."""
    return max(free - safety_stock, 0)


def can_take(free: int, quantity: int, *, keep: int = 0) -> bool:
    """Whether `quantity` units can be reserved or sold from `free` units, `keep` kept back."""
    return free - keep >= quantity


# --- ORM ---------------------------------------------------------------------------------------


def free_expression(*, prefix: str = "") -> CombinedExpression:
    """Free units of a stock level, in a query (`prefix` reaches StockLevel: "" on stock
    levels, "stock_levels__" on variants...)."""
    return F(f"{prefix}on_hand") - F(f"{prefix}reserved")


def available_expression(channel: Channel, *, prefix: str = "") -> Greatest:
    """The units a stock level can promise to `channel`, in a query (`prefix` as above)."""
    # PostgreSQL's GREATEST ignores NULLs: a missing stock level gives 0.
    return Greatest(
        free_expression(prefix=prefix) - F(f"{prefix}location__safety_stock_{channel}"),
        Value(0),
        output_field=models.IntegerField(),
    )


# --- SQL ---------------------------------------------------------------------------------------


def free_sql(level: str) -> str:
    """Free units of the stock level row aliased `level`, in a hand-written statement."""
    return f"{level}.on_hand - {level}.reserved"


def take_condition_sql(level: str, *, keep: str, quantity: str) -> str:
    """The condition under which a statement may take `quantity` units from the row `level`,
    `keep` kept back (`keep` and `quantity` are SQL: placeholders or columns)."""
    return f"{free_sql(level)} - {keep} >= {quantity}"
