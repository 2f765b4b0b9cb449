"""Admin for service agents: carts and orders, read-only; order actions call the services.

Every field of a cart is owned by orders.services.cart (locks, trail), every field of an order
by the checkout and lifecycle services: the admin shows them and changes nothing itself.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omni.exceptions import DomainError
from orders.models import (
    Cart,
    CartEvent,
    CartLine,
    Fulfilment,
    FulfilmentKind,
    FulfilmentStatus,
    FulfilmentTransition,
    Order,
    OrderLine,
    Payment,
    Return,
)
from orders.services import order_cancel, pickup_mark_ready


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


# --- orders ------------------------------------------------------------------------------------
# Every order field is owned by the checkout and lifecycle services: the admin shows them, and
# its actions (mark ready, cancel) call those services, like the store screens do.


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = (
        "sku",
        "name",
        "quantity",
        "unit_price",
        "discount_amount",
        "vat_rate",
        "line_total",
        "vat_amount",
    )


class FulfilmentInline(_ReadOnlyInline):
    model = Fulfilment
    fields = readonly_fields = (
        "reference",
        "kind",
        "status",
        "location",
        "source_location",
        "promised_ready_at",
        "ready_at",
        "pickup_deadline",
        "collected_at",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "rejection_reason",
    )


class PaymentInline(_ReadOnlyInline):
    model = Payment
    fields = readonly_fields = (
        "provider",
        "reference",
        "status",
        "amount",
        "currency",
        "recorded_by",
        "created_at",
    )


class ReturnInline(_ReadOnlyInline):
    model = Return
    fields = readonly_fields = (
        "created_at",
        "location",
        "reason",
        "refund_amount",
        "refund_reference",
        "created_by",
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "placed_at", "customer", "channel", "status", "total", "store")
    list_filter = ("status", "channel", "fulfilments__kind")
    list_select_related = ("customer", "store")
    search_fields = (
        "=number",
        "customer__email",
        "customer__phone",
        "customer__last_name",
        "=fulfilments__reference",
    )
    date_hierarchy = "placed_at"
    readonly_fields = (
        "number",
        "customer",
        "channel",
        "status",
        "attention_reason",
        "store",
        "cart",
        "currency",
        "subtotal",
        "discount_total",
        "discount_code",
        "discount_label",
        "code_discount",
        "shipping_total",
        "total",
        "vat_total",
        "placed_by",
        "placed_at",
        "updated_at",
        "status_history",
    )
    inlines = (OrderLineInline, FulfilmentInline, PaymentInline, ReturnInline)
    actions = ("mark_ready", "cancel_orders")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("status history"))
    def status_history(self, order: Order) -> str:
        transitions = (
            FulfilmentTransition.objects.filter(fulfilment__order=order)
            .select_related("fulfilment", "performed_by")
            .order_by("at", "pk")
        )
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} · {} · {} → {} · {} {}",
                (
                    (
                        date_format(t.at, "SHORT_DATETIME_FORMAT"),
                        t.fulfilment.reference,
                        t.get_from_status_display() or "—",
                        t.get_to_status_display(),
                        t.performed_by or _("system"),
                        t.note,
                    )
                    for t in transitions
                ),
            )
            or "—"
        )

    def _each(self, request: HttpRequest, items, operation, done: str) -> None:
        count = 0
        for item in items:
            try:
                operation(item)
            except DomainError as error:
                self.message_user(request, f"{item}: {error.detail}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Mark the reserved pickups ready"))
    def mark_ready(self, request: HttpRequest, queryset) -> None:
        pickups = Fulfilment.objects.filter(
            order__in=queryset,
            kind=FulfilmentKind.CLICK_AND_COLLECT,
            status=FulfilmentStatus.RESERVED,
        ).order_by("pk")
        self._each(
            request,
            pickups,
            lambda f: pickup_mark_ready(fulfilment=f, performed_by=request.user),
            _("%(count)d pickup(s) ready."),
        )

    @admin.action(description=gettext_lazy("Cancel the orders (stock given back)"))
    def cancel_orders(self, request: HttpRequest, queryset) -> None:
        self._each(
            request,
            queryset.order_by("pk"),
            lambda order: order_cancel(order=order, performed_by=request.user, reason="admin"),
            _("%(count)d order(s) cancelled."),
        )
