"""Catalogue, locations, stock levels and the stock-movement ledger.

Quantities on `StockLevel` are written only by `inventory.services`; every change there appends
`StockMovement` rows in the same transaction, so on-hand always equals the sum of its ledger.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from inventory.availability import free_units
from omni.models import TimeStampedModel


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    reference = models.CharField(_("style reference"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2, default=20)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Variant(TimeStampedModel):
    """A sellable article: one SKU of a product (a size and a colour, for instance)."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="variants"
    )
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    ean = models.CharField(_("EAN"), max_length=14, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), default=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class LocationKind(models.TextChoices):
    STORE = "store", _("Store")
    WAREHOUSE = "warehouse", _("Warehouse")


class Location(TimeStampedModel):
    """A store or a warehouse: where stock lives and from where orders are served."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=LocationKind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True, db_index=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    click_and_collect = models.BooleanField(_("click-and-collect"), default=False)
    ship_from_store = models.BooleanField(_("ship from store"), default=False)
    pickup_preparation_minutes = models.PositiveIntegerField(
        _("pickup preparation time (minutes)"), default=120
    )
    # {"0": ["09:00", "19:00"], ... "6": null}: weekday (Monday = 0) to opening and closing time.
    opening_hours = models.JSONField(_("opening hours"), default=dict, blank=True)
    # Units kept back per variant from each channel, so a store keeps its shelf for walk-ins.
    safety_stock_pickup = models.PositiveIntegerField(_("safety stock for pickup"), default=0)
    safety_stock_delivery = models.PositiveIntegerField(_("safety stock for delivery"), default=0)
    # Days a transfer from a warehouse takes to reach this location.
    transfer_lead_days = models.PositiveIntegerField(_("transfer lead time (days)"), default=2)
    # Lower comes first when the configured-priority allocation strategy picks locations.
    priority = models.PositiveIntegerField(_("allocation priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_store(self) -> bool:
        return self.kind == LocationKind.STORE


class StaffProfile(models.Model):
    """Links a staff user to the stores she works at: store-scoped access is enforced on it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff_profile",
    )
    stores = models.ManyToManyField(
        Location, verbose_name=_("stores"), blank=True, related_name="staff"
    )
    default_store = models.ForeignKey(
        Location,
        verbose_name=_("default store"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class StockLevel(models.Model):
    """On-hand and reserved units of one variant at one location."""

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="stock_levels"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock_levels"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["location", "variant"], name="stock_location_variant")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand} ({self.reserved} reserved)"

    @property
    def free(self) -> int:
        """Units nobody holds (inventory/availability.py)."""
        return free_units(self.on_hand, self.reserved)


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ADJUSTMENT = "adjustment", _("Adjustment")
    COUNT = "count", _("Stock count")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    SALE = "sale", _("Sale")
    RETURN = "return", _("Return")


class StockMovement(models.Model):
    """One row of the append-only stock ledger: what changed, by how much, who and why."""

    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,  # movement_variant_location leads with it
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="movements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(_("on-hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        # Indexes in Meta, not db_index: PostgreSQL then gets no second `_like` index per text
        # column, which no query uses (searches are exact or UPPER(...) LIKE) and every row
        # written paid for.
        indexes = [
            models.Index(fields=["variant", "location"], name="movement_variant_location"),
            models.Index(fields=["reference"], name="movement_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_delta:+d}/{self.reserved_delta:+d} {self.reference}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMMITTED = "committed", _("Sold")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")
    SHORTED = "shorted", _("Short after a count")


class Reservation(models.Model):
    """Units held at one location for a reference (an order, a cart) until sold or released."""

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="reservations"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    reference = models.CharField(_("reference"), max_length=100)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.ACTIVE,
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry",
            ),
            models.Index(fields=["reference"], name="reservation_reference"),  # no `_like`
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}@{self.location_id} ({self.reference})"


class ShortageStatus(models.TextChoices):
    OPEN = "open", _("To resolve")
    REALLOCATED = "reallocated", _("Re-allocated")
    CANCELLED = "cancelled", _("Cancelled")


class Shortage(models.Model):
    """A reservation a stock count could no longer cover: released, waiting for staff to resolve
    it by re-allocating it to another location or cancelling it."""

    reservation = models.OneToOneField(
        Reservation,
        verbose_name=_("reservation"),
        on_delete=models.PROTECT,
        related_name="shortage",
    )
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="shortages"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    reference = models.CharField(_("reference"), max_length=100, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ShortageStatus.choices, default=ShortageStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution_location = models.ForeignKey(
        Location,
        verbose_name=_("re-allocated to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("shortage")
        verbose_name_plural = _("shortages")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}@{self.location_id} ({self.reference})"


class TransferStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")


class Transfer(models.Model):
    """Stock sent from one location to another: out when shipped, in when received."""

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    source = models.ForeignKey(
        Location, verbose_name=_("from"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    destination = models.ForeignKey(
        Location, verbose_name=_("to"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=TransferStatus.choices,
        default=TransferStatus.IN_TRANSIT,
    )
    expected_at = models.DateTimeField(_("expected at"), null=True, blank=True)
    created_at = models.DateTimeField(_("shipped at"), auto_now_add=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shipped by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_between_two_locations"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class TransferLine(models.Model):
    transfer = models.ForeignKey(
        Transfer, verbose_name=_("transfer"), on_delete=models.CASCADE, related_name="lines"
    )
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class StockEventKind(models.TextChoices):
    BACK_IN_STOCK = "back_in_stock", _("Back in stock")
    LOW_STOCK = "low_stock", _("Low stock")


class StockEvent(models.Model):
    """A signal for the rest of Omni (campaigns, staff screens), written by the stock services
    in the same transaction as the change that caused it."""

    kind = models.CharField(_("kind"), max_length=16, choices=StockEventKind.choices)
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="stock_events"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock_events"
    )
    available = models.IntegerField(_("available after the change"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    # Set by a consumer (the back-in-stock automation) once it has acted on the event.
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock event")
        verbose_name_plural = _("stock events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["kind", "created_at"],
                condition=Q(processed_at__isnull=True),
                name="stock_event_unprocessed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.variant_id}@{self.location_id}"
