"""Admin of the device register: which app installations receive a customer's push messages.

Read-only (the device services own every field); the token shows only as its first characters,
enough to tell devices apart on a screen, not enough to send to one. The one write, stopping
push to a device, goes through `device_unregister` like the app's own call, and the device keeps
who did it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers import services
from customers.admin import ReadOnlyMixin, ServiceAgentViewMixin
from customers.models import Device


@admin.register(Device)
class DeviceAdmin(ServiceAgentViewMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["customer", "platform", "token_prefix", "app_version", "active", "last_seen_at"]
    list_filter = ["platform", "active", "disabled_reason"]
    list_select_related = ["customer"]
    search_fields = [
        "customer__last_name",
        "customer__first_name",
        "customer__email",
        "customer__phone",
        "customer__card_number",
    ]
    fields = [
        "customer",
        "platform",
        "token_prefix",
        "app_version",
        "active",
        "disabled_at",
        "disabled_reason",
        "disabled_by",
        "created_at",
        "last_seen_at",
    ]
    readonly_fields = fields
    actions = ["unregister"]

    @admin.display(description=gettext_lazy("push token"))
    def token_prefix(self, device: Device) -> str:
        return device.token_prefix

    def has_unregister_permission(self, request: HttpRequest) -> bool:
        # The model's change permission opens the action only: the form stays read-only (no
        # raw save of a device), and the action goes through the service.
        return request.user.has_perm("customers.change_device")

    @admin.action(
        description=gettext_lazy("Stop sending push messages to these devices"),
        permissions=["unregister"],
    )
    def unregister(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        devices = list(queryset.filter(active=True).order_by("pk"))
        if not devices:
            self.message_user(request, _("The selected devices were already disabled."))
            return
        for device in devices:
            services.device_unregister(token=device.token, performed_by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d device no longer receives push messages.",
                "%(count)d devices no longer receive push messages.",
                len(devices),
            )
            % {"count": len(devices)},
            messages.SUCCESS,
        )
