"""Hooks other apps register to delete or anonymise their rows when a customer is erased.

    from customers.erasure import register_erase_hook

    def erase_carts(*, customer, performed_by): ...  # runs in the erasure transaction

    register_erase_hook(erase_carts)  # in the app's AppConfig.ready

Rows that must stay for accounting (orders, stock movements) keep pointing at the customer row,
which stays as an anonymised tombstone: their hook only blanks the personal fields they copied
(delivery address, phone on the order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from customers.models import Customer


class EraseHook(Protocol):
    def __call__(self, *, customer: Customer, performed_by: AbstractBaseUser | None) -> None: ...


_ERASE_HOOKS: list[EraseHook] = []


def register_erase_hook(hook: EraseHook) -> EraseHook:
    """Run `hook(customer=, performed_by=)` in every erasure."""
    if hook not in _ERASE_HOOKS:
        _ERASE_HOOKS.append(hook)
    return hook


def unregister_erase_hook(hook: EraseHook) -> None:
    """Remove a hook (tests)."""
    if hook in _ERASE_HOOKS:
        _ERASE_HOOKS.remove(hook)


def erase_hooks() -> list[EraseHook]:
    return list(_ERASE_HOOKS)
