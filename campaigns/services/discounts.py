"""Campaign discount codes at checkout: the provider campaigns registers with orders.

A service of campaigns, if not a function: the checkout and the cancellations of the orders app
call its `reserve`, `redeem` and `release` (through `orders.checkout.discounts`, in their own
transaction), which write the codes' rows; `quote` only reads.

Each code (`DiscountCode`, made when its message is sent) is single use until `valid_until`,
and personal. The policy: it pays for an order of the customer it was sent to, or for a walk-in
sale at the till (she shows the message on her phone without giving her details: the till does
not force anyone to be identified); never for another identified customer's order.

Checkout takes it with one conditional UPDATE ... WHERE redeemed_at IS NULL, inside its own
transaction: two checkouts with the same code at once (online, and at the till) give one order;
the other is refused and writes nothing. The order then credits the code's message as its last
touch (campaigns/services/attribution.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from campaigns.models import DiscountCode
from customers.models import Customer
from orders.checkout.discounts import Discount
from orders.checkout.exceptions import InvalidDiscountCode
from orders.models import Order


class CampaignCodes:
    """The `orders.checkout.discounts` provider of campaign and automation codes."""

    name = "campaigns"

    def quote(
        self, *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
    ) -> Discount | None:
        """What `code` takes off, if it is a campaign code she may use now; reads only."""
        row = DiscountCode.objects.select_related("campaign").filter(code=code).first()
        if row is None:
            return None
        _check(row, customer, at)
        return _discount(row)

    def reserve(
        self, *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
    ) -> Discount | None:
        """Take `code` for the checkout in progress: one conditional UPDATE, in its transaction.

        Raises:
            InvalidDiscountCode: another customer's, used (now or by a concurrent checkout), or
                expired.
        """
        hers = Q() if customer is None else Q(customer_id=customer.pk)
        taken = (
            DiscountCode.objects.filter(hers, code=code, valid_until__gt=at)
            .filter(redeemed_at__isnull=True)  # the lock: of two checkouts, one updates the row
            .update(redeemed_at=at)
        )
        row = DiscountCode.objects.select_related("campaign").filter(code=code).first()
        if row is None:
            return None
        if not taken:
            _check(row, customer, at)
            raise InvalidDiscountCode.used()  # taken meanwhile by a concurrent checkout
        return _discount(row)

    def redeem(self, *, discount: Discount, order: Order) -> None:
        """Record the order the code paid for (attribution credits its message)."""
        DiscountCode.objects.filter(pk=int(discount.ref)).update(redeemed_order=order)

    def release(self, *, order: Order) -> None:
        """The order was cancelled: its code may pay for another one until it expires."""
        DiscountCode.objects.filter(redeemed_order=order).update(
            redeemed_at=None, redeemed_order=None
        )


def _check(row: DiscountCode, customer: Customer | None, at: datetime) -> None:
    # Whose code it is comes first: another customer's code says nothing about its state.
    if customer is not None and row.customer_id != customer.pk:
        raise InvalidDiscountCode.not_hers()
    if row.redeemed_at is not None:
        raise InvalidDiscountCode.used()
    if row.valid_until <= at:
        raise InvalidDiscountCode.expired()


def _discount(row: DiscountCode) -> Discount:
    label = _("%(campaign)s: -%(percent)s%%") % {
        "campaign": row.campaign.name,
        "percent": f"{row.percent:f}".rstrip("0").rstrip("."),  # 10.00 -> 10, 12.50 -> 12.5
    }
    return Discount(
        code=row.code,
        label=label,
        ref=str(row.pk),
        provider=CampaignCodes.name,
        percent=row.percent,
    )


campaign_codes = CampaignCodes()
