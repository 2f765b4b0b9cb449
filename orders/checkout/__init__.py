"""Checkout from the unified cart, and the customer's view of her orders."""

from orders.checkout.selectors import customer_order, customer_orders, pickup_options
from orders.checkout.services import order_checkout, vat_of
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
    "order_checkout",
    "pickup_options",
    "vat_of",
]
