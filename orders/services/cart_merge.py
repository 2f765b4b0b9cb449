"""Merging carts: an anonymous cart into the customer's at login, and the carts of two customer
profiles being merged. The policy is written once, in `orders.services.cart` (module docstring),
and applied here by `_merge_locked`.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from customers.models import Channel, Customer
from orders.exceptions import CartCheckoutInProgress, CartMergeRefused, CartNotEditable
from orders.models import OPEN_STATUSES, Cart, CartAction, CartLine, CartStatus
from orders.services.cart import MergedLine, MergeReport, _record, _touch


def cart_merge(
    *,
    source: Cart,
    target: Cart,
    channel: str,
    performed_by: User | None = None,
) -> MergeReport:
    """Merge `source` (an anonymous cart, or one of the same customer) into `target`.

    Quantities are added, one line per variant, nothing is lost, each merged line keeps where it
    was first added (see the policy in orders.services.cart).

    Raises:
        CartCheckoutInProgress: the target's checkout has started.
        CartMergeRefused: the same cart twice, a source of another customer, or a source that is
            not active any more (ordered, in checkout, merged elsewhere).
        CartNotEditable: the target is not active.
    """
    if source.pk == target.pk:
        raise CartMergeRefused()
    with transaction.atomic():
        source, target = _lock_pair(source, target)
        if source.customer_id not in (None, target.customer_id):
            raise CartMergeRefused()
        return _merge_locked(
            source=source, target=target, channel=channel, performed_by=performed_by
        )


def cart_merge_customers(
    *, winner: Customer, loser: Customer, performed_by: User | None = None
) -> MergeReport | None:
    """Before two profiles are merged: fold the loser's open cart into the winner's, so that the
    winner still has one open cart once everything of the loser points at her.

    Returns None when there is nothing to fold (either has no open cart: re-pointing moves it).

    Raises:
        CartCheckoutInProgress: either cart's checkout has started; finish or cancel it first.
    """
    with transaction.atomic():
        carts = list(
            Cart.objects.select_for_update()
            .filter(customer__in=[winner.pk, loser.pk], status__in=OPEN_STATUSES)
            .order_by("pk")
        )
        by_customer = {cart.customer_id: cart for cart in carts}
        source, target = by_customer.get(loser.pk), by_customer.get(winner.pk)
        if source is None or target is None:
            return None
        if source.status == CartStatus.CHECKING_OUT:
            raise CartCheckoutInProgress()
        return _merge_locked(
            source=source, target=target, channel=Channel.ADMIN, performed_by=performed_by
        )


def _lock_pair(source: Cart, target: Cart) -> tuple[Cart, Cart]:
    # Always in primary-key order: two opposite merges cannot deadlock.
    locked = {
        cart.pk: cart
        for cart in Cart.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    return locked[source.pk], locked[target.pk]


def _merge_locked(
    *, source: Cart, target: Cart, channel: str, performed_by: User | None
) -> MergeReport:
    """Apply the merge policy to two carts already locked by the caller."""
    if target.status == CartStatus.CHECKING_OUT:
        raise CartCheckoutInProgress()
    if target.status != CartStatus.ACTIVE:
        raise CartNotEditable(status=target.status)
    if source.status == CartStatus.MERGED and source.merged_into_id == target.pk:
        return MergeReport(source_id=source.pk, target_id=target.pk, lines=(), already_merged=True)
    if source.status != CartStatus.ACTIVE:
        raise CartMergeRefused(status=source.status)

    existing = {line.variant_id: line for line in target.lines.all()}
    merged: list[MergedLine] = []
    for line in source.lines.select_related("variant").order_by("created_at", "pk"):
        kept = existing.get(line.variant_id)
        before = kept.quantity if kept else 0
        if kept is None:
            CartLine.objects.create(
                cart=target,
                variant=line.variant,
                quantity=line.quantity,
                unit_price_seen=line.unit_price_seen,
                currency=line.currency,
                added_channel=line.added_channel,
                added_by=line.added_by,
            )
        else:
            kept.quantity = before + line.quantity
            kept.save(update_fields=["quantity", "updated_at"])
        _record(
            cart=target,
            action=CartAction.MERGE,
            channel=channel,
            performed_by=performed_by,
            variant=line.variant,
            quantity_before=before,
            quantity_after=before + line.quantity,
            origin_channel=line.added_channel,
            detail={"source_cart": source.pk},
        )
        merged.append(
            MergedLine(
                variant_id=line.variant_id,
                sku=line.variant.sku,
                quantity=line.quantity,
                quantity_before=before,
                quantity_after=before + line.quantity,
                origin_channel=line.added_channel,
            )
        )
    source.status = CartStatus.MERGED
    source.merged_into = target
    source.save(update_fields=["status", "merged_into", "updated_at"])
    _record(
        cart=source,
        action=CartAction.MERGE,
        channel=channel,
        performed_by=performed_by,
        detail={"target_cart": target.pk},
    )
    _touch(target)
    return MergeReport(source_id=source.pk, target_id=target.pk, lines=tuple(merged))
