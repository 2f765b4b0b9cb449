"""Loyalty points earned and spent on every channel under one rule set (settings OMNI_LOYALTY_*).

The contract for the orders app (customers never imports orders, the calls go the other way);
the changes are services, `from customers import services` (customers/services/loyalty.py):

- a purchase, at checkout on the web or the app, or a sale at a till:
  `loyalty_earn(customer=, amount=<paid, euros>, reference=<order number>, channel=<Channel>)`,
  once the order exists, in its transaction; a replay with the same reference does nothing;
- points used to pay: `loyalty_spend(customer=, points=, reference=<order number>, channel=)`,
  worth `loyalty_points_value(points)` euros off; raises InsufficientPoints (409), nothing written;
- a return in any store: `loyalty_reverse(customer=, reference=<order number>,
  amount_returned=<refund>, total=<order total>, return_reference=<the return's id>)`;
- a cancelled order that had spent points: `loyalty_spend_reverse(customer=, reference=)`;
- a return of goods partly paid with points: `loyalty_spend_return(...)` gives that share back.

Balance and tier, read from this package: `loyalty_summary(customer=)`.
"""

from customers.loyalty.exceptions import InsufficientPoints, LoyaltyReferenceUsed
from customers.loyalty.rules import loyalty_points_value, loyalty_rules
from customers.loyalty.selectors import (
    RECENT_MOVEMENTS,
    LoyaltySummary,
    loyalty_movements,
    loyalty_summary,
)

__all__ = [
    "RECENT_MOVEMENTS",
    "InsufficientPoints",
    "LoyaltyReferenceUsed",
    "LoyaltySummary",
    "loyalty_movements",
    "loyalty_points_value",
    "loyalty_rules",
    "loyalty_summary",
]
