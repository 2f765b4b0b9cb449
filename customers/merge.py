"""What points at a customer, found generically, and the hooks other apps register for merges.

Other apps (carts, orders, contacts, loyalty...) add foreign keys to Customer without this app
importing them. `customer_merge` (customers/services/merging.py) moves every such row from the
loser to the winner; an app whose rows need more than a foreign key update (one active cart per
customer: the two carts must be combined, not both kept) registers a hook in its AppConfig.ready:

    from customers.merge import register_merge_hook

    def merge_carts(*, winner, loser, performed_by): ...  # runs first, in the merge transaction

    register_merge_hook(merge_carts)

The generic move then updates whatever still points at the loser. A row whose move would break a
unique constraint (a hook was not registered for it) is not moved: it stays on the loser's
tombstone, nothing is lost, and CustomerMerge.left counts it per relation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.models import Customer


class MergeHook(Protocol):
    def __call__(
        self, *, winner: Customer, loser: Customer, performed_by: AbstractBaseUser | None
    ) -> None: ...


_MERGE_HOOKS: list[MergeHook] = []

# Relations that record history about a profile as it was: they never move.
STAYS: frozenset[str] = frozenset(
    {
        "customers.Customer.merged_into",
        "customers.CustomerMerge.winner",
        "customers.CustomerMerge.loser",
        "customers.PrivacyRequest.customer",
        # Who read which profile is an audit of that very profile: it does not move.
        "customers.CustomerAccess.customer",
    }
)


def register_merge_hook(hook: MergeHook) -> MergeHook:
    """Run `hook(winner=, loser=, performed_by=)` in every merge, before the generic move."""
    if hook not in _MERGE_HOOKS:
        _MERGE_HOOKS.append(hook)
    return hook


def unregister_merge_hook(hook: MergeHook) -> None:
    """Remove a hook (tests)."""
    if hook in _MERGE_HOOKS:
        _MERGE_HOOKS.remove(hook)


def merge_hooks() -> list[MergeHook]:
    return list(_MERGE_HOOKS)


def relation_label(field: models.Field) -> str:
    return f"{field.model._meta.label}.{field.name}"


def customer_foreign_keys() -> list[models.ForeignKey]:
    """Every concrete foreign key to Customer in the installed models, many-to-many tables too.

    `Customer._meta.related_objects` leaves out foreign keys declared with related_name="+", so
    the models are scanned instead: a hidden relation must move (and be exported) all the same.
    """
    from customers.models import Customer

    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            is_customer_key = field.is_relation and field.related_model is Customer
            if is_customer_key and relation_label(field) not in STAYS:
                found.append(field)
    return found
