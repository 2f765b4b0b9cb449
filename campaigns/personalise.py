"""The plain values a message template sees, built for a whole batch in a few queries."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict

from django.conf import settings
from django.db.models import Count

from campaigns import tracking
from campaigns.models import Message
from inventory.models import Product
from orders.models import CartLine, CartStatus, OrderLine, OrderStatus

RECOMMENDATIONS = 3


def discount_code_for(message_id: int) -> str:
    """A code unguessable from the message id, the same every time (a resent batch reuses it)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"discount:{message_id}".encode(), hashlib.sha256
    ).digest()
    return "OM" + base64.b32encode(digest).decode()[:10]


def _product(product: Product) -> dict:
    variant = next(iter(product.variants.all()), None)
    return {
        "name": product.name,
        "brand": product.brand,
        "price": str(variant.price) if variant else "",
        "url": f"{settings.OMNI_PUBLIC_URL}/p/{product.reference}/",
    }


def _cart_lines(customer_ids: list[int]) -> dict[int, list[dict]]:
    lines = defaultdict(list)
    for line in CartLine.objects.filter(
        cart__customer_id__in=customer_ids, cart__status=CartStatus.ACTIVE
    ).select_related("cart", "variant"):
        lines[line.cart.customer_id].append(
            {
                "name": line.variant.name,
                "sku": line.variant.sku,
                "quantity": line.quantity,
                "price": str(line.unit_price_seen),
            }
        )
    return lines


def _recommendations(customer_ids: list[int]) -> dict[int, list[dict]]:
    """Best sellers of the categories she bought from, that she has not bought yet."""
    bought = defaultdict(set)
    categories = defaultdict(set)
    for customer_id, product_id, category_id in (
        OrderLine.objects.filter(order__customer_id__in=customer_ids)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("order__customer_id", "variant__product_id", "variant__product__category_id")
        .distinct()
    ):
        bought[customer_id].add(product_id)
        categories[customer_id].add(category_id)
    wanted = set().union(*categories.values()) if categories else set()
    if not wanted:
        return {}
    ranked = (
        Product.objects.filter(category_id__in=wanted, is_active=True)
        .annotate(sold=Count("variants__pk"))
        .order_by("-sold", "name", "pk")
        .prefetch_related("variants")[:200]
    )
    by_category = defaultdict(list)
    for product in ranked:
        by_category[product.category_id].append(product)
    found = {}
    for customer_id, category_ids in categories.items():
        picks = [
            product
            for category_id in sorted(category_ids)
            for product in by_category[category_id]
            if product.pk not in bought[customer_id]
        ]
        found[customer_id] = [_product(product) for product in picks[:RECOMMENDATIONS]]
    return found


def contexts(messages: list[Message], *, codes: dict[int, str]) -> dict[int, dict]:
    """Template context per message id: plain strings, numbers, lists and dicts only."""
    customer_ids = sorted({message.customer_id for message in messages})
    carts = _cart_lines(customer_ids)
    recommended = _recommendations(customer_ids)
    from campaigns.automations.selectors import message_contexts

    automation_values = message_contexts(messages)
    # Once per campaign, not per message: reading the product's variants is a query.
    promoted: dict[int, dict] = {}
    for message in messages:
        product = message.campaign.promoted_product
        if product and message.campaign_id not in promoted:
            promoted[message.campaign_id] = _product(product)
    result = {}
    for message in messages:
        customer, campaign = message.customer, message.campaign
        store = customer.preferred_store
        result[message.pk] = {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "store": {
                "name": store.name,
                "city": store.city,
                "address": store.address,
                "postal_code": store.postal_code,
            }
            if store
            else {},
            "cart_lines": carts.get(customer.pk, []),
            "recommended_products": recommended.get(customer.pk, []),
            "promoted_product": promoted.get(campaign.pk, {}),
            "discount_code": codes.get(message.pk, ""),
            "discount_percent": str(campaign.discount_percent or ""),
            # One click withdraws consent on this channel and counts against this campaign.
            "unsubscribe_url": tracking.unsubscribe_url(message.pk),
            "open_pixel_url": tracking.open_url(message.pk),
            **automation_values[message.pk],
        }
    return result
