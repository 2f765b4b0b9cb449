"""Abstract bases shared by the apps, and the staff-screen permissions.

`StaffScreens` has no table (managed = False): it only carries the permissions that open each
area of the staff screens, so roles can grant them like any model permission.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class StaffScreens(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("use_store_screens", _("Can use the store screens")),
            ("manage_store", _("Can manage a store's stock and staff actions")),
            ("use_service_screens", _("Can use the customer service screens")),
            ("use_marketing_screens", _("Can use the marketing screens")),
            ("view_dashboard", _("Can view the management dashboard")),
        ]
        verbose_name = _("staff screens")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
