"""The inventory admin: catalogue and locations are edited here; stock only through the services.

Quantities, the ledger, reservations, shortages, transfers and events are read-only: the admin
changes them with actions and small forms that call `inventory.services`, like the store screens.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory import forms, services
from inventory.models import (
    Category,
    Location,
    Product,
    Reservation,
    Shortage,
    ShortageStatus,
    StaffProfile,
    StockEvent,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
    Variant,
)
from omni.exceptions import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the stock services: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _form_page(request: HttpRequest, model_admin: admin.ModelAdmin, *, title: str, form, **extra):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        **extra,
    }
    return TemplateResponse(request, "admin/inventory/form.html", context)


def _changelist(model_admin: admin.ModelAdmin) -> str:
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def operation_view(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    form_class,
    title: str,
    perform: Callable[[dict], str],
) -> HttpResponse:
    """A form whose valid data goes to one service call; a DomainError becomes a form error."""
    form = form_class(request.POST or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        try:
            message = perform(form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.detail)
        else:
            model_admin.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(_changelist(model_admin))
    return _form_page(request, model_admin, title=title, form=form)


def import_view(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    columns: tuple[str, ...],
    run: Callable[[str], services.ImportReport],
) -> HttpResponse:
    """Upload a CSV file; import it whole or list every bad row."""
    form = forms.CsvImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            text = services.read_text(form.cleaned_data["file"].read())
        except UnicodeDecodeError:
            form.add_error("file", _("The file is not UTF-8 text."))
        else:
            report = run(text)
            if report.ok:
                model_admin.message_user(request, report.lines()[0], messages.SUCCESS)
                return HttpResponseRedirect(_changelist(model_admin))
    return _form_page(
        request, model_admin, title=title, form=form, report=report, columns=", ".join(columns)
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ["sku", "ean", "name", "attributes", "price", "currency", "low_stock_threshold"]
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["reference", "name", "brand", "category", "vat_rate", "is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["reference", "name", "variants__sku"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "ean", "name", "product", "price", "currency", "is_active"]
    list_filter = ["is_active", "product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "ean", "name", "product__name", "product__reference"]
    autocomplete_fields = ["product"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_products_view)
        return [path("import/", view, name="inventory_variant_import"), *super().get_urls()]

    def import_products_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        return import_view(
            request,
            self,
            title=_("Import products"),
            columns=services.PRODUCT_COLUMNS,
            run=services.import_products,
        )


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "city",
        "click_and_collect",
        "ship_from_store",
        "priority",
        "is_active",
    ]
    list_filter = ["kind", "click_and_collect", "ship_from_store", "is_active"]
    search_fields = ["code", "name", "city", "postal_code"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "default_store"]
    list_select_related = ["user", "default_store"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["stores"]
    autocomplete_fields = ["user"]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["variant", "location", "on_hand", "reserved", "free", "updated_at"]
    list_filter = ["location"]
    list_select_related = ["variant", "location"]
    search_fields = ["variant__sku", "variant__ean", "variant__name"]

    @admin.display(description=gettext_lazy("free"))
    def free(self, level: StockLevel) -> int:
        return level.free

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path("receive/", wrap(self.receive_view), name="inventory_stocklevel_receive"),
            path("adjust/", wrap(self.adjust_view), name="inventory_stocklevel_adjust"),
            path("import/", wrap(self.import_stock_view), name="inventory_stocklevel_import"),
            *super().get_urls(),
        ]

    def _check(self, request: HttpRequest) -> None:
        # The level rows are read-only here, so changing stock is its own model permission.
        if not request.user.has_perm("inventory.change_stocklevel"):
            raise PermissionDenied

    def receive_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)

        def receive(data: dict) -> str:
            services.stock_receive(
                location=data["location"],
                lines=[services.StockLine(data["article"].pk, data["quantity"])],
                reference=data["reference"],
                performed_by=request.user,
            )
            return _("%(quantity)s units of %(sku)s received at %(location)s.") % {
                "quantity": data["quantity"],
                "sku": data["article"].sku,
                "location": data["location"],
            }

        return operation_view(
            request,
            self,
            form_class=forms.AdminReceiveForm,
            title=_("Receive stock"),
            perform=receive,
        )

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)

        def adjust(data: dict) -> str:
            services.stock_adjust(
                location=data["location"],
                variant_id=data["article"].pk,
                delta=data["delta"],
                reason=data["reason"],
                performed_by=request.user,
            )
            return _("Stock of %(sku)s at %(location)s adjusted by %(delta)+d.") % {
                "sku": data["article"].sku,
                "location": data["location"],
                "delta": data["delta"],
            }

        return operation_view(
            request, self, form_class=forms.AdminAdjustForm, title=_("Adjust stock"), perform=adjust
        )

    def import_stock_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        return import_view(
            request,
            self,
            title=_("Import stock counts"),
            columns=services.STOCK_COLUMNS,
            run=lambda text: services.import_stock(
                text, reference="admin-import", performed_by=request.user
            ),
        )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "variant",
        "location",
        "on_hand_delta",
        "reserved_delta",
        "reason",
        "reference",
        "performed_by",
    ]
    list_filter = ["kind", "location", "created_at"]
    list_select_related = ["variant", "location", "performed_by"]
    search_fields = ["variant__sku", "reference"]
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["reference", "variant", "location", "quantity", "status", "expires_at"]
    list_filter = ["status", "location"]
    list_select_related = ["variant", "location"]
    search_fields = ["reference", "variant__sku"]


def _each(model_admin, request, queryset, call: Callable, done: str) -> None:
    """Apply one service call per selected row; report what was done and each refusal."""
    count = 0
    for obj in queryset:
        try:
            call(obj)
        except DomainError as error:
            model_admin.message_user(request, f"{obj}: {error.detail}", messages.ERROR)
        else:
            count += 1
    if count:
        model_admin.message_user(request, done % {"count": count}, messages.SUCCESS)


@admin.register(Shortage)
class ShortageAdmin(ReadOnlyAdmin):
    list_display = ["reference", "variant", "location", "quantity", "status", "created_at"]
    list_filter = ["status", "location"]
    list_select_related = ["variant", "location"]
    search_fields = ["reference", "variant__sku"]
    actions = ["cancel_shortages"]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_shortage")

    @admin.action(
        description=gettext_lazy("Cancel the selected shortages"), permissions=["resolve"]
    )
    def cancel_shortages(self, request: HttpRequest, queryset) -> None:
        _each(
            self,
            request,
            queryset.filter(status=ShortageStatus.OPEN),
            lambda shortage: services.shortage_cancel(
                shortage=shortage, performed_by=request.user, note=_("cancelled in the admin")
            ),
            _("%(count)s shortage(s) cancelled."),
        )


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    fields = ["variant", "quantity"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("variant")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["reference", "source", "destination", "status", "created_at", "received_at"]
    list_filter = ["status", "source", "destination"]
    list_select_related = ["source", "destination"]
    search_fields = ["reference"]
    inlines = [TransferLineInline]
    actions = ["receive_transfers"]

    def has_receive_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_transfer")

    @admin.action(
        description=gettext_lazy("Receive the selected transfers"), permissions=["receive"]
    )
    def receive_transfers(self, request: HttpRequest, queryset) -> None:
        _each(
            self,
            request,
            queryset.filter(status=TransferStatus.IN_TRANSIT),
            lambda transfer: services.stock_transfer_receive(
                transfer=transfer, performed_by=request.user
            ),
            _("%(count)s transfer(s) received."),
        )


@admin.register(StockEvent)
class StockEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "variant", "location", "available", "processed_at"]
    list_filter = ["kind", "location"]
    list_select_related = ["variant", "location"]
    search_fields = ["variant__sku"]
