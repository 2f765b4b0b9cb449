"""Campaigns admin for marketers: segments (live count and sample), campaigns (variants and their
content, the beat schedule, progress; launch and cancel through the services), messages,
tracking events and attributions read-only.

Writes go through the same services as the API and the screens: segment_create/segment_update,
campaign_launch, campaign_cancel. Campaign fields the services own are read-only here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import selectors, services
from campaigns.automations import selectors as automation_selectors
from campaigns.models import (
    Attribution,
    Automation,
    AutomationStep,
    Campaign,
    CampaignVariant,
    Enrolment,
    Message,
    Segment,
    TrackingEvent,
)
from campaigns.segments import SegmentRuleError
from omni import roles
from omni.exceptions import DomainError


class MarketerMixin:
    """Marketers work here through their role, not through model permissions."""

    def _marketer(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.MARKETING_SCREENS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._marketer(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_view_permission(request, obj)


class ReadOnlyMixin(MarketerMixin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(MarketerMixin, admin.ModelAdmin):
    list_display = ("name", "description", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("live_count", "sample", "created_by", "created_at", "updated_at")
    fields = ("name", "description", "rules", *readonly_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._marketer(request) or super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # Campaigns and people refer to a segment by its name: it is set once.
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    @admin.display(description=gettext_lazy("customers matching now"))
    def live_count(self, obj: Segment) -> str:
        if obj.pk is None:
            return "-"
        try:
            return str(selectors.segment_count(rules=obj.rules))
        except SegmentRuleError as exc:
            return str(exc.messages[0])

    @admin.display(description=gettext_lazy("sample"))
    def sample(self, obj: Segment) -> str:
        if obj.pk is None:
            return "-"
        try:
            customers = selectors.segment_sample(rules=obj.rules)
        except SegmentRuleError:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:customers_customer_change", args=[customer.pk]), str(customer))
                for customer in customers
            ),
        ) or _("nobody")

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        # The form already refused invalid rules (Segment.clean); the services store them.
        if change:
            services.segment_update(segment=obj, rules=obj.rules, description=obj.description)
            return
        created = services.segment_create(
            name=obj.name, rules=obj.rules, description=obj.description, created_by=request.user
        )
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj.created_by = created.created_by
        obj._state.adding = False


class VariantInline(ReadOnlyMixin, admin.TabularInline):
    model = CampaignVariant
    extra = 0
    fields = ("name", "split_percent", "content")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("contents")

    @admin.display(description=gettext_lazy("content per channel"))
    def content(self, variant: CampaignVariant) -> str:
        return format_html_join(
            "",
            "<p><strong>{}</strong> {}<br>{}</p>",
            (
                (content.get_channel_display(), content.subject, content.body)
                for content in variant.contents.all()
            ),
        )


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "status", "channels", "schedule_kind", "send_at", "launched_at")
    list_filter = ("status", "schedule_kind", "channel_mode")
    search_fields = ("name",)
    inlines = (VariantInline,)
    actions = ("launch_action", "cancel_action")
    readonly_fields = (
        "name",
        "segment",
        "status",
        "channels",
        "channel_mode",
        "promoted_product",
        "suppress_buyers_days",
        "discount_percent",
        "discount_valid_days",
        "holdout_percent",
        "winner_metric",
        "winner_after",
        "test_percent",
        "winner_due_at",
        "winner",
        "schedule",
        "progress",
        "results",
        "created_by",
        "launched_at",
        "finished_at",
        "current_run",
    )
    fields = readonly_fields

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return self._marketer(request) or request.user.has_perm("campaigns.change_campaign")

    @admin.display(description=gettext_lazy("schedule"))
    def schedule(self, campaign: Campaign) -> str:
        task = campaign.periodic_task
        if task is None:
            return campaign.get_schedule_kind_display()
        when = task.clocked or task.crontab
        state = _("enabled") if task.enabled else _("disabled")
        link = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        return format_html('<a href="{}">{}</a> ({}, {})', link, task.name, when, state)

    @admin.display(description=gettext_lazy("winning variant"))
    def winner(self, campaign: Campaign) -> str:
        if campaign.winner_variant is None:
            return "-"
        return _("%(name)s, chosen on %(at)s") % {
            "name": campaign.winner_variant.name,
            "at": date_format(timezone.localtime(campaign.winner_chosen_at), "DATETIME_FORMAT"),
        }

    @admin.display(description=gettext_lazy("progress of the current run"))
    def progress(self, campaign: Campaign) -> str:
        done = selectors.campaign_progress(campaign=campaign)
        return _(
            "%(sent)s sent, %(failed)s failed, %(skipped)s skipped, %(waiting)s to send, "
            "%(held_out)s held out, of %(audience)s"
        ) % {
            "sent": done.sent,
            "failed": done.failed,
            "skipped": done.skipped,
            "waiting": done.pending + done.sending,
            "held_out": done.held_out,
            "audience": done.audience,
        }

    @admin.display(description=gettext_lazy("results"))
    def results(self, campaign: Campaign) -> str:
        link = reverse("campaigns:campaign-results", args=[campaign.pk])
        return format_html('<a href="{}">{}</a>', link, _("Results and attribution"))

    def _each(self, request: HttpRequest, queryset: QuerySet, operation, done: str) -> None:
        succeeded = 0
        for campaign in queryset.order_by("pk"):
            try:
                operation(campaign=campaign, performed_by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.detail}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Launch now"), permissions=["launch"])
    def launch_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request, queryset, services.campaign_launch, _("%(count)s campaign(s) launched.")
        )

    @admin.action(description=gettext_lazy("Cancel"), permissions=["launch"])
    def cancel_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request, queryset, services.campaign_cancel, _("%(count)s campaign(s) cancelled.")
        )


@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "idempotency_key",
        "campaign",
        "variant",
        "customer",
        "channel",
        "status",
        "sent_at",
        "opened_at",
        "clicked_at",
    )
    list_filter = ("status", "channel", "skip_reason", "campaign")
    list_select_related = ("campaign", "variant", "customer")
    search_fields = ("idempotency_key", "provider_id", "recipient")
    show_full_result_count = False
    date_hierarchy = "created_at"


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "channel", "campaign", "message", "customer", "url")
    list_filter = ("kind", "channel")
    list_select_related = ("campaign", "message", "customer")
    search_fields = ("message__idempotency_key",)
    show_full_result_count = False


@admin.register(Attribution)
class AttributionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "order",
        "campaign",
        "variant",
        "channel",
        "touch",
        "touched_at",
        "order_placed_at",
        "weight",
        "revenue_share",
        "is_last_touch",
    )
    list_filter = ("is_last_touch", "channel", "touch", "campaign")
    list_select_related = ("order", "campaign", "variant")
    search_fields = ("order__number",)
    show_full_result_count = False


# --- automations --------------------------------------------------------------------------


class AutomationStepForm(forms.ModelForm):
    class Meta:
        model = AutomationStep
        fields = (
            "position",
            "delay",
            "channel",
            "email_subject",
            "email_body",
            "sms_body",
            "push_title",
            "push_body",
        )

    def clean(self) -> dict:
        data = super().clean()
        probe = AutomationStep(**{name: data.get(name) or "" for name in self.Meta.fields[2:]})
        for key, message in services.step_errors(probe, 0).items():
            field = key.split(".", 1)[1]
            self.add_error(field if field in self.fields else None, message)
        return data


class AutomationStepInline(admin.StackedInline):
    model = AutomationStep
    form = AutomationStepForm
    extra = 0
    ordering = ("position",)

    def _marketer(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.MARKETING_SCREENS)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_delete_permission(request, obj)


@admin.register(Automation)
class AutomationAdmin(MarketerMixin, admin.ModelAdmin):
    list_display = ("name", "trigger", "is_active", "starts_at", "enrolments")
    list_filter = ("trigger", "is_active")
    search_fields = ("name",)
    inlines = (AutomationStepInline,)
    readonly_fields = ("campaign", "enrolments", "created_by", "created_at", "updated_at")
    fields = (
        "name",
        "trigger",
        "is_active",
        "starts_at",
        "idle_hours",
        "idle_days",
        "exit_on_order",
        "segment",
        "discount_percent",
        *readonly_fields,
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._marketer(request) or super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._marketer(request) or super().has_change_permission(request, obj)

    @admin.display(description=gettext_lazy("enrolments"))
    def enrolments(self, automation: Automation) -> str:
        if automation.pk is None:
            return "-"
        counts = automation_selectors.automation_counts(automation=automation)
        link = (
            reverse("admin:campaigns_enrolment_changelist")
            + f"?automation__id__exact={automation.pk}"
        )
        text = ", ".join(f"{count} {status}" for status, count in counts.items())
        return format_html('<a href="{}">{}</a>', link, text)

    def save_model(self, request: HttpRequest, obj: Automation, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The steps' content goes to the campaign the delivery pipeline sends from.
        services.automation_sync(automation=form.instance, performed_by=request.user)


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "automation",
        "customer",
        "trigger_key",
        "status",
        "next_position",
        "next_due_at",
        "enrolled_at",
        "exit_reason",
    )
    list_filter = ("status", "automation", "exit_reason")
    list_select_related = ("automation", "customer")
    search_fields = ("trigger_key", "customer__email", "customer__last_name")
    show_full_result_count = False
    readonly_fields = ("sent_messages",)

    @admin.display(description=gettext_lazy("messages"))
    def sent_messages(self, enrolment: Enrolment) -> str:
        link = reverse("admin:campaigns_message_changelist")
        prefix = f"a{enrolment.automation_id}-e{enrolment.pk}-"
        return format_html('<a href="{}?q={}">{}</a>', link, prefix, _("Messages sent"))
