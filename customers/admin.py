"""Admin for service agents: search, profile with consents, merge, export and erase.

Profiles are read-only here: keys and consents are owned by the services (customer_update,
consent_grant/withdraw), and the actions below call customer_merge, customer_export and
customer_erase, the same functions the rest of the code uses.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers import loyalty, selectors, services
from customers.forms import EraseForm, LoyaltyAdjustForm, MergeForm
from customers.models import (
    ConsentEvent,
    ConsentState,
    Contact,
    Conversation,
    Customer,
    CustomerMerge,
    ErasedIdentity,
    LoyaltyAccount,
    LoyaltyMovement,
    PrivacyRequest,
    SurveyAnswer,
)
from omni import roles
from omni.exceptions import DomainError

ADMIN_SEARCH_LIMIT = 100


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ServiceAgentViewMixin:
    """Service agents read customers in the admin through their role, not model permissions."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(roles.SERVICE_SCREENS) or super().has_view_permission(
            request, obj
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.SERVICE_SCREENS) or super().has_module_permission(
            request
        )


class ConsentStateInline(ReadOnlyMixin, admin.TabularInline):
    model = ConsentState
    fields = ["channel", "granted", "opt_in_level", "reason", "updated_at"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = gettext_lazy("current consents")


class ConsentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = ConsentEvent
    fields = [
        "created_at",
        "channel",
        "action",
        "opt_in_level",
        "reason",
        "source_channel",
        "store",
        "text_version",
        "performed_by",
    ]
    readonly_fields = fields
    extra = 0
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = gettext_lazy("consent history")


@admin.register(Customer)
class CustomerAdmin(ServiceAgentViewMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "card_number", "created_channel", "created_at"]
    list_filter = ["created_channel", "suppressed"]
    search_fields = ["last_name"]  # shows the box; get_search_results does the real search
    search_help_text = gettext_lazy("Name, email, phone or card number")
    inlines = [ConsentStateInline, ConsentEventInline]
    actions = ["merge_action", "export_action", "erase_action"]
    list_select_related = ["preferred_store"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in Customer._meta.concrete_fields]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        if not search_term.strip():
            return queryset, False
        found = selectors.customer_search(query=search_term, limit=ADMIN_SEARCH_LIMIT)
        return queryset.filter(pk__in=list(found.values_list("pk", flat=True))), False

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.merge_customer") or request.user.has_perm(
            roles.SERVICE_SCREENS
        )

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.export_customer")

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.erase_customer")

    @admin.action(
        description=gettext_lazy("Merge two profiles of one person"), permissions=["merge"]
    )
    def merge_action(self, request: HttpRequest, queryset: QuerySet):
        customers = queryset.live()
        if customers.count() != 2:
            self.message_user(request, _("Select exactly two live profiles."), messages.ERROR)
            return None
        form = MergeForm(request.POST if "apply" in request.POST else None, customers=customers)
        if form.is_valid():
            winner = form.cleaned_data["winner"]
            loser = customers.exclude(pk=winner.pk).get()
            try:
                services.customer_merge(
                    winner=winner,
                    loser=loser,
                    performed_by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
                return None
            self.message_user(
                request,
                _("%(loser)s was merged into %(winner)s.") % {"loser": loser, "winner": winner},
                messages.SUCCESS,
            )
            return None
        return self._confirm(request, queryset, "customers/admin/merge.html", form, "merge_action")

    @admin.action(description=gettext_lazy("Export personal data (JSON)"), permissions=["export"])
    def export_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        data = [
            services.customer_export(customer=customer, performed_by=request.user)
            for customer in queryset.order_by("pk")
        ]
        response = HttpResponse(
            json.dumps({"customers": data}, cls=DjangoJSONEncoder, indent=2),
            content_type="application/json",
        )
        response["Content-Disposition"] = 'attachment; filename="customers-export.json"'
        return response

    @admin.action(description=gettext_lazy("Erase personal data"), permissions=["erase"])
    def erase_action(self, request: HttpRequest, queryset: QuerySet):
        form = EraseForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            erased = 0
            for customer in queryset.live().order_by("pk"):
                try:
                    services.customer_erase(
                        customer=customer,
                        performed_by=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except (DomainError, ValidationError) as exc:
                    self.message_user(request, f"{customer}: {exc}", messages.ERROR)
                    continue
                erased += 1
            self.message_user(
                request, _("%(count)d profiles erased.") % {"count": erased}, messages.SUCCESS
            )
            return None
        return self._confirm(request, queryset, "customers/admin/erase.html", form, "erase_action")

    def _confirm(self, request, queryset, template, form, action) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, template, context)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "winner", "loser", "performed_by", "reason"]
    readonly_fields = [f.name for f in CustomerMerge._meta.concrete_fields]


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "customer", "performed_by", "reason"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in PrivacyRequest._meta.concrete_fields]


@admin.register(ErasedIdentity)
class ErasedIdentityAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "digest", "created_at"]


# --- Loyalty ------------------------------------------------------------------------------------
class LoyaltyMovementInline(ReadOnlyMixin, admin.TabularInline):
    model = LoyaltyMovement
    fields = [
        "created_at",
        "kind",
        "points",
        "amount",
        "shortfall",
        "reference",
        "channel",
        "reason",
        "performed_by",
    ]
    readonly_fields = fields
    extra = 0
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = gettext_lazy("ledger")


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ServiceAgentViewMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Balances are owned by the loyalty services; agents adjust them through `loyalty_adjust`."""

    list_display = ["customer", "balance", "updated_at"]
    list_select_related = ["customer"]
    search_fields = ["customer__last_name", "customer__email", "customer__card_number"]
    readonly_fields = ["customer", "balance", "summary", "adjust_link", "created_at", "updated_at"]
    inlines = [LoyaltyMovementInline]

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.adjust_loyalty_points") or request.user.has_perm(
            roles.SERVICE_SCREENS
        )

    @admin.display(description=gettext_lazy("tier"))
    def summary(self, account: LoyaltyAccount) -> str:
        summary = loyalty.loyalty_summary(customer=account.customer)
        return _("%(tier)s (%(spend)s € over 12 months)") % {
            "tier": summary.tier.label,
            "spend": summary.spend_12_months,
        }

    @admin.display(description=gettext_lazy("adjust"))
    def adjust_link(self, account: LoyaltyAccount) -> str:
        url = reverse("admin:customers_loyaltyaccount_adjust", args=[account.pk])
        return format_html('<a href="{}">{}</a>', url, _("Adjust points"))

    def get_urls(self):
        adjust = path(
            "<int:pk>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="customers_loyaltyaccount_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        account = get_object_or_404(LoyaltyAccount.objects.select_related("customer"), pk=pk)
        form = LoyaltyAdjustForm(request.POST or None)
        if form.is_valid():
            try:
                services.loyalty_adjust(
                    customer=account.customer,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    performed_by=request.user,
                )
            except DomainError as exc:
                form.add_error("points", exc.detail)
            else:
                self.message_user(request, _("Points adjusted."), messages.SUCCESS)
                return redirect("admin:customers_loyaltyaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "form": form,
            "title": _("Adjust points"),
        }
        return TemplateResponse(request, "customers/admin/loyalty_adjust.html", context)


# --- Service contacts and satisfaction ----------------------------------------------------------
class ContactInline(ReadOnlyMixin, admin.TabularInline):
    model = Contact
    fields = ["at", "channel", "direction", "reason", "outcome", "notes", "agent", "store"]
    readonly_fields = fields
    extra = 0
    ordering = ["at", "pk"]


@admin.register(Conversation)
class ConversationAdmin(ServiceAgentViewMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Contacts are logged from the customer's page (the same `contact_log` service)."""

    list_display = ["__str__", "customer", "subject", "status", "opened_at", "closed_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["customer"]
    search_fields = ["customer__last_name", "customer__email", "subject"]
    readonly_fields = [f.name for f in Conversation._meta.concrete_fields]
    inlines = [ContactInline]
    actions = ["close_action"]

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.SERVICE_SCREENS)

    @admin.action(description=gettext_lazy("Close the conversations"), permissions=["close"])
    def close_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for conversation in queryset.order_by("pk"):
            services.conversation_close(conversation=conversation, performed_by=request.user)
        self.message_user(request, _("Conversations closed."), messages.SUCCESS)


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(ServiceAgentViewMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["answered_at", "order_number", "customer", "store", "channel", "score"]
    list_filter = ["score", "channel", "store"]
    list_select_related = ["customer", "store"]
    search_fields = ["order_number"]
    readonly_fields = [f.name for f in SurveyAnswer._meta.concrete_fields]


# --- The 360° view and its access log ------------------------------------------------------------
from customers.customer360.page import customer360_context  # noqa: E402
from customers.models import AccessScreen, CustomerAccess  # noqa: E402


class Customer360Admin(CustomerAdmin):
    """The customer admin with the 360° view: the same panels and timeline as the staff screen."""

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return ["view_360", *super().get_readonly_fields(request, obj)]

    @admin.display(description=gettext_lazy("360° view"))
    def view_360(self, customer: Customer) -> str:
        url = reverse("admin:customers_customer_360", args=[customer.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open the 360° view"))

    def get_urls(self):
        view = path(
            "<int:pk>/360/",
            self.admin_site.admin_view(self.customer360_view),
            name="customers_customer_360",
        )
        return [view, *super().get_urls()]

    def customer360_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer.objects.select_related("preferred_store"), pk=pk)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("360° view"),
            **customer360_context(request=request, customer=customer, screen=AccessScreen.ADMIN),
        }
        return TemplateResponse(request, "customers/360_admin.html", context)


admin.site.unregister(Customer)
admin.site.register(Customer, Customer360Admin)


def _is_administrator(request: HttpRequest) -> bool:
    return request.user.is_superuser or request.user.has_perms(roles.ADMINISTRATOR.permissions)


@admin.register(CustomerAccess)
class CustomerAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Who read which customer's 360° view, when, from which screen: for administrators only."""

    list_display = ["at", "username", "customer", "screen"]
    list_filter = ["screen"]
    list_select_related = ["customer"]
    search_fields = ["username"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in CustomerAccess._meta.concrete_fields]

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_administrator(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request) or super().has_module_permission(request)


# The device register's admin lives in its own module (this one is long); importing it here
# registers it, as Django only discovers admin.py.
from customers import admin_devices  # noqa: E402, F401
