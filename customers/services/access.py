"""The access log of the 360° view: one row per read, written in the request that reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customers.models import Customer
from customers.models_access import CustomerAccess

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def customer_access_record(*, customer: Customer, user: User, screen: str) -> CustomerAccess:
    """Record that `user` read `customer`'s 360° view from `screen` (an AccessScreen)."""
    # One INSERT is atomic on its own: no transaction.atomic(), whose savepoint would cost two
    # more queries on every page inside a caller's transaction.
    return CustomerAccess.objects.create(
        customer=customer, user=user, username=user.get_username(), screen=screen
    )
