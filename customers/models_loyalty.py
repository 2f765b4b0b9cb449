"""Loyalty: one account per customer and the append-only ledger of its point movements.

Written only by customers/loyalty/services.py: the balance changes in the same transaction as the
movement that explains it, so `balance == sum(movements.points)` always holds.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Channel


class LoyaltyTier(models.TextChoices):
    BRONZE = "bronze", _("Bronze")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")


class LoyaltyMovementKind(models.TextChoices):
    EARN = "earn", _("Earned on a purchase")
    SPEND = "spend", _("Spent")
    REVERSE_EARN = "reverse_earn", _("Taken back on a return")
    REVERSE_SPEND = "reverse_spend", _("Given back (cancelled spending)")
    ADJUST = "adjust", _("Adjustment")


class LoyaltyAccount(models.Model):
    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="loyalty_account",
    )
    balance = models.IntegerField(_("points"), default=0)
    created_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        ordering = ["-updated_at", "-pk"]
        permissions = [("adjust_loyalty_points", _("Can adjust loyalty points"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="loyalty_account_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.customer_id}: {self.balance}"


# The sign of `points` each kind may carry: the database refuses a spend that adds points.
_SIGNS = (
    Q(kind=LoyaltyMovementKind.EARN, points__gte=0)
    | Q(kind=LoyaltyMovementKind.SPEND, points__lt=0)
    | Q(kind=LoyaltyMovementKind.REVERSE_EARN, points__lte=0)
    | Q(kind=LoyaltyMovementKind.REVERSE_SPEND, points__gt=0)
    | (Q(kind=LoyaltyMovementKind.ADJUST) & ~Q(points=0))
)


class LoyaltyMovement(models.Model):
    """One change of a balance; append-only. `reference` is what caused it (an order number)."""

    account = models.ForeignKey(
        LoyaltyAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,  # loyalty_movement_history leads with it: one index less to write
    )
    kind = models.CharField(_("kind"), max_length=13, choices=LoyaltyMovementKind.choices)
    points = models.IntegerField(_("points"))
    # Euros behind the movement: the purchase for an earn, minus the refund for a reverse_earn.
    # Spend over the last 12 months (the tier) is their sum.
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    # Points a reversal could not take back because the balance was already spent.
    shortfall = models.PositiveIntegerField(_("points not recovered"), default=0)
    reference = models.CharField(_("reference"), max_length=40, blank=True)
    # Makes a replay recognisable: one movement per (kind, reference, key); see the services.
    key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loyalty movement")
        verbose_name_plural = _("loyalty movements")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="loyalty_movement_history"),
            models.Index(fields=["reference"], name="loyalty_movement_reference"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference", "key"],
                condition=~Q(kind=LoyaltyMovementKind.ADJUST),
                name="loyalty_movement_once",
            ),
            models.CheckConstraint(condition=_SIGNS, name="loyalty_movement_sign"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} {self.reference}"
