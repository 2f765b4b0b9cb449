"""Merging two profiles of one person into one."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from customers.exceptions import MergeRefused
from customers.merge import customer_foreign_keys, merge_hooks, relation_label
from customers.models import ConsentState, Customer, CustomerMerge

KEYS = ("email", "phone", "card_number")
# Filled on the winner from the loser where the winner has nothing.
FILLED = (*KEYS, "first_name", "last_name", "birth_date", "postal_code", "preferred_store_id")


def snapshot(customer: Customer) -> dict:
    """The customer row as JSON-ready values."""
    data = serializers.serialize("json", [customer], cls=DjangoJSONEncoder)
    return json.loads(data)[0]["fields"]


def customer_merge(
    *,
    winner: Customer,
    loser: Customer,
    performed_by: User | None,
    reason: str = "",
) -> CustomerMerge:
    """Fold `loser` into `winner`: every row pointing at the loser moves, one transaction.

    Registered merge hooks run first (customers.merge); then every foreign key to Customer is
    repointed. The loser stays as a tombstone (`merged_into`, no keys left); keys and details the
    winner lacks are taken from it.

    Raises:
        MergeRefused: the same profile twice, or one already merged or erased.
    """
    if winner.pk == loser.pk:
        raise MergeRefused(_("A profile cannot be merged into itself."))
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk__in=[winner.pk, loser.pk])
        rows = {
            customer.pk: customer for customer in locked.order_by("pk")
        }  # pk order: no deadlock
        winner, loser = rows[winner.pk], rows[loser.pk]
        if not (winner.is_live and loser.is_live):
            raise MergeRefused(_("Only live profiles can be merged (not merged nor erased ones)."))
        before = snapshot(loser)
        for hook in merge_hooks():
            hook(winner=winner, loser=loser, performed_by=performed_by)
        moved, left = _move_related_rows(winner=winner, loser=loser)
        taken = {name: getattr(loser, name) for name in FILLED if not getattr(winner, name)}
        for name in KEYS:
            setattr(loser, name, None)
        loser.merged_into = winner
        loser.save(update_fields=[*KEYS, "merged_into", "updated_at"])  # frees the keys first
        for name, value in taken.items():
            setattr(winner, name, value)
        winner.suppressed = winner.suppressed or loser.suppressed
        winner.save(update_fields=[*taken, "suppressed", "updated_at"])
        return CustomerMerge.objects.create(
            winner=winner,
            loser=loser,
            loser_snapshot=before,
            moved=moved,
            left=left,
            reason=reason,
            performed_by=performed_by,
        )


def merge_consent_states(*, winner: Customer, loser: Customer, performed_by: User | None) -> None:
    """Per channel, the more recent decision of the two profiles becomes the winner's state.

    Registered as a merge hook by CustomersConfig.ready; the events themselves move generically.
    """
    current = {state.channel: state for state in ConsentState.objects.filter(customer=winner)}
    for state in ConsentState.objects.filter(customer=loser).order_by("pk"):
        mine = current.get(state.channel)
        if mine is None:
            state.customer = winner
            state.save(update_fields=["customer"])
            continue
        if state.updated_at > mine.updated_at:
            for name in ("granted", "opt_in_level", "reason", "last_event", "updated_at"):
                setattr(mine, name, getattr(state, name))
            mine.save()
        state.delete()


def _move(field: models.ForeignKey, *, winner: Customer, loser: Customer) -> tuple[int, int]:
    """Point `field` at the winner wherever it points at the loser; return (moved, left)."""
    manager = field.model._base_manager
    rows = manager.filter(**{field.attname: loser.pk})
    try:
        with transaction.atomic():
            return rows.update(**{field.attname: winner.pk}), 0
    except IntegrityError:
        pass
    moved = left = 0
    for pk in list(rows.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                moved += manager.filter(pk=pk).update(**{field.attname: winner.pk})
        except IntegrityError:
            left += 1  # a unique constraint holds it on the loser: kept there, see above
    return moved, left


def _move_related_rows(*, winner: Customer, loser: Customer) -> tuple[dict, dict]:
    """Move every row pointing at the loser onto the winner; return counts moved and left."""
    moved: dict[str, int] = {}
    left: dict[str, int] = {}
    for field in customer_foreign_keys():
        count, kept = _move(field, winner=winner, loser=loser)
        if count:
            moved[relation_label(field)] = count
        if kept:
            left[relation_label(field)] = kept
    return moved, left
