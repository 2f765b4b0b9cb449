"""Discount codes at checkout: a registry of providers, so orders never import the apps that
issue codes (campaigns registers its per-recipient codes in its AppConfig.ready).

A provider answers for the codes it knows and ignores the others:

    class CampaignCodes:
        def quote(self, *, code, customer, subtotal, at) -> Discount | None: ...  # read only
        def reserve(self, *, code, customer, subtotal, at) -> Discount | None: ...  # locks it
        def redeem(self, *, discount, order) -> None: ...  # records the order it paid for
        def release(self, *, order) -> None: ...  # the order was cancelled: the code is free

    register_discount_provider(CampaignCodes())

`reserve` runs inside the checkout transaction and takes the code for this checkout with one
conditional UPDATE (`... WHERE redeemed_at IS NULL`): of two checkouts with the same code, the
second waits for the first and then finds it used. A code it refuses raises `InvalidDiscountCode`
naming why; the checkout then rolls back and nothing is written.

The discount is applied to the lines (`discount_lines`): each line's total is what is paid for
it after the discount, its VAT is computed on that, so the order's subtotal, VAT total and the
refund cap of every line (orders/services/returns.py) are what she actually paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Protocol

from orders.checkout.exceptions import InvalidDiscountCode

if TYPE_CHECKING:
    from customers.models import Customer
    from orders.models import Order, OrderLine

CENT = Decimal("0.01")
MAX_CODE_LENGTH = 40


@dataclass(frozen=True)
class Discount:
    """What a code takes off the lines: a percentage, or an amount spread over them."""

    code: str
    label: str
    ref: str  # the provider's own reference of the code (e.g. its row id)
    provider: str
    percent: Decimal | None = None
    amount: Decimal | None = None


class DiscountProvider(Protocol):
    name: str

    def quote(
        self, *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
    ) -> Discount | None: ...

    def reserve(
        self, *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
    ) -> Discount | None: ...

    def redeem(self, *, discount: Discount, order: Order) -> None: ...

    def release(self, *, order: Order) -> None: ...


_PROVIDERS: dict[str, DiscountProvider] = {}


def register_discount_provider(provider: DiscountProvider) -> DiscountProvider:
    """Let `provider` answer for its codes at every checkout (AppConfig.ready)."""
    _PROVIDERS[provider.name] = provider
    return provider


def unregister_discount_provider(provider: DiscountProvider) -> None:
    """Remove a provider (tests)."""
    _PROVIDERS.pop(provider.name, None)


def normalise_code(code: str) -> str:
    """Codes are typed by hand at the till: case and surrounding spaces do not matter."""
    return "".join((code or "").split()).upper()


def _ask(
    method: str, *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
) -> Discount:
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        raise InvalidDiscountCode.unknown()
    for provider in list(_PROVIDERS.values()):
        discount = getattr(provider, method)(code=code, customer=customer, subtotal=subtotal, at=at)
        if discount is not None:
            return discount
    raise InvalidDiscountCode.unknown()


def discount_quote(
    *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
) -> Discount:
    """What `code` would take off now, without taking it (the till shows the amount to pay).

    Raises:
        InvalidDiscountCode: unknown, expired, used, or another customer's code.
    """
    return _ask("quote", code=code, customer=customer, subtotal=subtotal, at=at)


def discount_reserve(
    *, code: str, customer: Customer | None, subtotal: Decimal, at: datetime
) -> Discount:
    """Take `code` for the checkout in progress (call inside its transaction).

    Raises:
        InvalidDiscountCode: unknown, expired, used (by now, or by a concurrent checkout), or
            another customer's code.
    """
    return _ask("reserve", code=code, customer=customer, subtotal=subtotal, at=at)


def discount_redeem(*, discount: Discount, order: Order) -> None:
    """Record on the provider's side that `discount` paid for `order` (same transaction)."""
    _PROVIDERS[discount.provider].redeem(discount=discount, order=order)


def discount_release(*, order: Order) -> None:
    """The order ended cancelled before anything reached her: the code it used can pay for
    another order (until it expires). Idempotent; nothing for an order without a code."""
    if order.discount_code:
        for provider in list(_PROVIDERS.values()):
            provider.release(order=order)


def discount_amounts(totals: Sequence[Decimal], discount: Discount) -> list[Decimal]:
    """The discount on each line total: the percentage of each (to the cent), or the amount
    spread pro rata (the rounding left on the largest line), never more than a line's total."""
    if discount.percent is not None:
        return [
            min(total, (total * discount.percent / 100).quantize(CENT, ROUND_HALF_UP))
            for total in totals
        ]
    whole = sum(totals, Decimal("0.00"))
    amount = min(discount.amount or Decimal("0.00"), whole)
    if not whole:
        return [Decimal("0.00") for _total in totals]
    shares = [(total * amount / whole).quantize(CENT, ROUND_HALF_UP) for total in totals]
    largest = max(range(len(totals)), key=lambda index: totals[index])
    shares[largest] += amount - sum(shares, Decimal("0.00"))
    return shares


def discount_saving(totals: Sequence[Decimal], discount: Discount) -> Decimal:
    """What `discount` takes off lines worth `totals` in all: the amount the till announces
    before the sale is the one `discount_lines` takes at checkout."""
    return sum(discount_amounts(totals, discount), Decimal("0.00"))


def discount_lines(lines: Sequence[OrderLine], discount: Discount, *, vat_of) -> Decimal:
    """Take the discount off the unsaved order lines (total and VAT); return what it took."""
    amounts = discount_amounts([line.line_total for line in lines], discount)
    for line, amount in zip(lines, amounts, strict=True):
        line.discount_amount = amount
        line.line_total -= amount
        line.vat_amount = vat_of(line.line_total, line.vat_rate)
    return sum(amounts, Decimal("0.00"))
