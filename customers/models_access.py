"""Who read which customer's 360° view, when and from which screen: the access log (GDPR).

Written only by `customers.services.customer_access_record`, in the request that reads
the view; read-only in the admin, for administrators.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessScreen(models.TextChoices):
    STAFF = "staff", _("Staff screen")
    ADMIN = "admin", _("Admin")


class CustomerAccess(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("read by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept when the account is deleted: the log must still say who it was.
    username = models.CharField(_("username"), max_length=150)
    screen = models.CharField(_("screen"), max_length=5, choices=AccessScreen.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer view access")
        verbose_name_plural = _("customer view accesses")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="customer_access_customer"),
            models.Index(fields=["user", "-at"], name="customer_access_user"),
        ]

    def __str__(self) -> str:
        return f"{self.username} -> #{self.customer_id} ({self.screen})"
