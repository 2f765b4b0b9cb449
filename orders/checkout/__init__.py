"""Checkout from the unified cart, and the customer's view of her orders (the checkout itself is
`orders.services.order_checkout`)."""

from orders.checkout.selectors import customer_order, customer_orders, pickup_options
from orders.checkout.types import (
    DeliveryChoice,
    PaymentInfo,
    PickupChoice,
    PickupOption,
    ShippingAddress,
    StoreSaleChoice,
)

__all__ = [
    "DeliveryChoice",
    "PaymentInfo",
    "PickupChoice",
    "PickupOption",
    "ShippingAddress",
    "StoreSaleChoice",
    "customer_order",
    "customer_orders",
    "pickup_options",
]
