"""Admin for service agents: carts with their lines and channel trail, read-only.

Every field of a cart is owned by orders.cart.services (locks, trail): the admin shows them and
changes nothing itself.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Cart, CartEvent, CartLine


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CartLineInline(_ReadOnlyInline):
    model = CartLine
    fields = readonly_fields = (
        "variant",
        "quantity",
        "unit_price_seen",
        "currency",
        "added_channel",
        "added_by",
        "created_at",
        "updated_at",
    )


class CartEventInline(_ReadOnlyInline):
    model = CartEvent
    fields = readonly_fields = (
        "at",
        "action",
        "channel",
        "origin_channel",
        "variant",
        "quantity_before",
        "quantity_after",
        "performed_by",
        "by_customer",
        "detail",
    )


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("pk", "customer", "status", "channel", "last_activity_at")
    list_filter = ("status", "channel")
    list_select_related = ("customer",)
    search_fields = (
        "customer__email",
        "customer__phone",
        "customer__card_number",
        "customer__last_name",
        "=token",
    )
    date_hierarchy = "last_activity_at"
    readonly_fields = (
        "customer",
        "status",
        "channel",
        "merged_into",
        "last_activity_at",
        "created_at",
        "updated_at",
    )
    exclude = ("token",)  # the anonymous visitor's credential: never shown
    inlines = (CartLineInline, CartEventInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
