"""What the orders app does when a customer is erased: orders stay, for accounting, anonymised."""

from __future__ import annotations

from django.contrib.auth.models import User

from customers.models import Customer
from orders.models import Cart, Order

ADDRESS_FIELDS = ("name", "line1", "line2", "postal_code", "city", "country", "phone")


def orders_erase_personal_data(*, customer: Customer, performed_by: User | None = None) -> int:
    """Delete her carts (lines and channel trail go with them) and blank the delivery
    addresses of her orders; runs inside customer_erase's transaction.

    Returns how many orders were anonymised.
    """
    Cart.objects.filter(customer=customer).delete()
    return Order.objects.filter(customer=customer).update(
        **{f"ship_to_{name}": "" for name in ADDRESS_FIELDS}
    )
