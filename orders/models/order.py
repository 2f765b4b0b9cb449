"""Orders from every channel, their fulfilments (delivery, click-and-collect, store sale),
payments, returns and notifications.

Rows here are written only by the orders services: checkout creates an order with its lines and
fulfilments in the same transaction as the stock it reserves or takes; every fulfilment status
change goes through one transition service that records a `FulfilmentTransition`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Channel, ContactChannel


def _money(verbose_name: str, **options) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **options)


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    # Something needs a person: e.g. a ship-from-store rejection no other location can cover.
    ATTENTION = "attention", _("Needs attention")


class Order(models.Model):
    # The order tables' unique fields are unique by constraints in Meta, and their foreign keys
    # indexed only where no composite index leads with them: `unique=True` adds a `_like`
    # index no query uses, and every checkout writes every index.
    number = models.CharField(_("number"), max_length=20)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        # Orders are kept for accounting: an erased customer stays as an anonymised tombstone.
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,  # order_customer_placed leads with it
    )
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The store where the order was taken (till or staff-assisted)."),
    )
    cart = models.ForeignKey(
        "orders.Cart",
        verbose_name=_("cart"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # All amounts include VAT (French retail prices), vat_total says how much of it is VAT.
    subtotal = _money(_("lines total"), default=0)
    discount_total = _money(_("discounts"), default=0)
    shipping_total = _money(_("shipping"), default=0)
    total = _money(_("total"), default=0)
    vat_total = _money(_("of which VAT"), default=0)
    # A discount code (e.g. a campaign's): taken off the lines, so `subtotal` is already net of
    # it; `code_discount` says how much it took, `discount_total` stays the loyalty points.
    discount_code = models.CharField(_("discount code"), max_length=40, blank=True)
    discount_label = models.CharField(_("discount"), max_length=200, blank=True)
    code_discount = _money(_("discount code savings"), default=0)
    # Where a home delivery goes: a snapshot taken at checkout, blanked if she is erased.
    ship_to_name = models.CharField(_("ship to"), max_length=200, blank=True)
    ship_to_line1 = models.CharField(_("address"), max_length=200, blank=True)
    ship_to_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    ship_to_postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    ship_to_city = models.CharField(_("city"), max_length=100, blank=True)
    ship_to_country = models.CharField(_("country"), max_length=2, blank=True)
    ship_to_phone = models.CharField(_("phone"), max_length=16, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by (staff)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    attention_reason = models.CharField(_("why it needs attention"), max_length=200, blank=True)
    placed_at = models.DateTimeField(_("placed at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "placed_at"], name="order_customer_placed"),
            models.Index(fields=["channel", "placed_at"], name="order_channel_placed"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.UniqueConstraint(fields=["number"], name="order_unique_number"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="lines"
    )
    variant = models.ForeignKey(
        "inventory.Variant", verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    # Snapshots: what was sold, whatever the catalogue says later.
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = _money(_("unit price"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2)
    # What was paid for the line: unit_price x quantity less its share of a discount code.
    line_total = _money(_("line total"))
    vat_amount = _money(_("of which VAT"))
    discount_amount = _money(_("discount"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class FulfilmentKind(models.TextChoices):
    DELIVERY = "delivery", _("Home delivery")
    CLICK_AND_COLLECT = "click_collect", _("Click-and-collect")
    STORE_SALE = "store_sale", _("In-store sale")


class FulfilmentStatus(models.TextChoices):
    # click-and-collect: placed -> (awaiting_transfer ->) reserved -> ready -> collected,
    # or expired / cancelled. delivery: placed -> (accepted ->) picking -> shipped -> delivered,
    # or rejected (ship-from-store) / cancelled. store sale: completed at once.
    PLACED = "placed", _("Placed")
    AWAITING_TRANSFER = "awaiting_transfer", _("Awaiting transfer")
    RESERVED = "reserved", pgettext_lazy("fulfilment status", "Reserved")
    READY = "ready", _("Ready for pickup")
    COLLECTED = "collected", _("Collected")
    EXPIRED = "expired", _("Not collected in time")
    ACCEPTED = "accepted", _("Accepted by the store")
    PICKING = "picking", _("Picking")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    REJECTED = "rejected", _("Rejected by the store")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Fulfilment(models.Model):
    """One part of an order served from one location: a parcel, a pickup or a till sale."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="fulfilments"
    )
    kind = models.CharField(_("kind"), max_length=14, choices=FulfilmentKind.choices)
    status = models.CharField(_("status"), max_length=18, choices=FulfilmentStatus.choices)
    # The stock reference of this fulfilment's reservations and sales in the inventory ledger.
    reference = models.CharField(_("stock reference"), max_length=40)  # unique: see Meta
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        related_name="fulfilments",
        db_index=False,  # fulfilment_queue leads with it
        help_text=_("Ships the parcel, hands over the pickup, or sold at the till."),
    )
    source_location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("stock held at"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a pickup served by a transfer: where the stock is reserved meanwhile."),
    )
    pickup_code = models.CharField(_("pickup code"), max_length=8, blank=True)
    promised_ready_at = models.DateTimeField(_("promised ready at"), null=True, blank=True)
    pickup_deadline = models.DateTimeField(_("collect before"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fulfilment")
        verbose_name_plural = _("fulfilments")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["location", "kind", "status"], name="fulfilment_queue"),
            models.Index(
                fields=["pickup_deadline"],
                condition=Q(status="ready"),
                name="fulfilment_ready_deadline",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="fulfilment_unique_reference"),
        ]

    def __str__(self) -> str:
        return self.reference


class FulfilmentLine(models.Model):
    fulfilment = models.ForeignKey(
        Fulfilment, verbose_name=_("fulfilment"), on_delete=models.PROTECT, related_name="lines"
    )
    order_line = models.ForeignKey(
        OrderLine,
        verbose_name=_("order line"),
        on_delete=models.PROTECT,
        related_name="fulfilment_lines",
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("fulfilment line")
        verbose_name_plural = _("fulfilment lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfilment_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line_id}"


class FulfilmentTransition(models.Model):
    """Audit of every status change: from, to, who, when and why."""

    fulfilment = models.ForeignKey(
        Fulfilment,
        verbose_name=_("fulfilment"),
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    from_status = models.CharField(
        _("from"), max_length=18, choices=FulfilmentStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=18, choices=FulfilmentStatus.choices)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class PaymentStatus(models.TextChoices):
    AUTHORISED = "authorised", _("Authorised")
    CAPTURED = "captured", _("Captured")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    """A payment the site or the till reports: recorded, never processed by Omni."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    provider = models.CharField(_("provider"), max_length=40)
    reference = models.CharField(_("provider reference"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices)
    amount = _money(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "reference", "status"], name="payment_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference} {self.amount}"


class Return(models.Model):
    """Goods brought back to a store, from an order of any channel."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="returns"
    )
    location = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("received at"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200)
    refund_amount = _money(_("refund"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    refund_reference = models.CharField(_("refund reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__gte=0), name="return_refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} return #{self.pk}"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        Return, verbose_name=_("return"), on_delete=models.PROTECT, related_name="lines"
    )
    order_line = models.ForeignKey(
        OrderLine,
        verbose_name=_("order line"),
        on_delete=models.PROTECT,
        related_name="return_lines",
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line_id}"


class CheckoutRequest(models.Model):
    """One idempotency key of a checkout (the API's Idempotency-Key header, the till's pay form):
    the same key and request replay the same answer (orders/services/idempotency.py)."""

    scope = models.CharField(_("caller"), max_length=60)  # the authenticated principal
    key = models.CharField(_("idempotency key"), max_length=100)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("checkout request")
        verbose_name_plural = _("checkout requests")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="checkout_request_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class NotificationKind(models.TextChoices):
    ORDER_CONFIRMED = "confirmed", _("Order confirmed")
    READY_FOR_PICKUP = "ready", _("Ready for pickup")
    PICKUP_REMINDER = "reminder", _("Pickup reminder")
    SHIPPED = "shipped", _("Shipped")
    REFUNDED = "refunded", pgettext_lazy("notification kind", "Refunded")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("To send")
    SENDING = "sending", _("Sending")
    SENT = "sent", pgettext_lazy("notification status", "Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("No channel to reach her")


class Notification(models.Model):
    """A transactional message about an order. The row is written in the same transaction as
    the change it reports; a task sends it once (the key is unique), a sweep retries leftovers."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="notifications"
    )
    fulfilment = models.ForeignKey(
        Fulfilment,
        verbose_name=_("fulfilment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    return_request = models.ForeignKey(
        Return,
        verbose_name=_("return"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=NotificationKind.choices)
    channel = models.CharField(
        _("channel"), max_length=5, choices=ContactChannel.choices, blank=True
    )
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)  # unique: see Meta
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    # When a worker claimed the row to send it: a claim older than a few minutes is stale.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_to_send",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="notification_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id} ({self.status})"
