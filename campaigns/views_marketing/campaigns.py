"""The campaign screens: the list, the editor (with its preview and test send), the campaign's
page (schedule, send now, cancel, progress while sending) and the way to its results."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from campaigns import selectors, services
from campaigns.forms import VARIANTS, CampaignForm, ScheduleForm, content_field
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import preview
from campaigns.views import MarketingScreenMixin
from customers.models import Customer
from customers.selectors import customer_search
from omni.exceptions import DomainError


class CampaignListView(MarketingScreenMixin, ListView):
    template_name = "campaigns/campaign_list.html"
    context_object_name = "campaigns"
    paginate_by = 50

    def get_queryset(self):
        return Campaign.objects.select_related("segment").order_by("-created_at", "-pk")


class CampaignCreateView(MarketingScreenMixin, FormView):
    """The campaign editor: `campaign_create` validates; its errors land on the fields."""

    template_name = "campaigns/campaign_form.html"
    form_class = CampaignForm

    def get_initial(self):
        initial = super().get_initial()
        segment = self.request.GET.get("segment", "")
        if segment.isdigit():
            initial["segment"] = int(segment)
        source = self.request.GET.get("from", "")
        if source.isdigit():
            # A sent or scheduled campaign is not rewritten: the editor starts a copy of it.
            campaign = get_object_or_404(
                Campaign.objects.select_related("promoted_product").prefetch_related(
                    "variants__contents"
                ),
                pk=int(source),
            )
            initial.update(initial_from(campaign))
        return initial

    def form_valid(self, form):
        try:
            campaign = services.campaign_create(spec=form.spec(), created_by=self.request.user)
        except ValidationError as error:
            form.add_service_errors(error)
            return self.form_invalid(form)
        messages.success(self.request, _("Campaign “%(name)s” saved.") % {"name": campaign})
        return HttpResponseRedirect(reverse("campaigns:campaign-detail", args=[campaign.pk]))


PICKS = 5


def initial_from(campaign: Campaign) -> dict:
    """The editor's fields filled from an existing campaign (its variants A and B)."""
    initial = {
        "name": _("Copy of %(name)s") % {"name": campaign.name},
        "segment": campaign.segment_id,
        "channels": campaign.channel_list,
        "channel_mode": campaign.channel_mode,
        "promoted_product": campaign.promoted_product.reference
        if campaign.promoted_product
        else "",
        "suppress_buyers_days": campaign.suppress_buyers_days,
        "discount_percent": campaign.discount_percent,
        "holdout_percent": campaign.holdout_percent,
        "winner_metric": campaign.winner_metric,
        "winner_after": campaign.winner_after,
        "test_percent": campaign.test_percent,
    }
    for variant, letter in zip(campaign.variants.all(), VARIANTS, strict=False):
        if letter == "A":
            initial["split_a"] = variant.split_percent
        for content in variant.contents.all():
            initial[content_field(letter, content.channel, "subject")] = content.subject
            initial[content_field(letter, content.channel, "body")] = content.body
    return initial


def _sample_customer(form: CampaignForm) -> tuple[Customer | None, list[Customer]]:
    """The customer the preview is for (the one picked, else searched for, else the segment's
    first), and a few of the segment's customers to pick from."""
    segment = form.cleaned_data.get("segment")
    sample = selectors.segment_sample(rules=segment.rules, size=PICKS) if segment else []
    pick = form.cleaned_data.get("preview_pick")
    query = form.cleaned_data.get("preview_customer", "").strip()
    if pick:
        chosen = next((c for c in sample if c.pk == pick), None)
        return chosen or Customer.objects.live().filter(pk=pick).first(), sample
    if query:
        return customer_search(query=query, limit=1).first(), sample
    return (sample[0] if sample else None), sample


class _ContentActionView(MarketingScreenMixin, View):
    """The editor's preview and test send (htmx POST of the whole form): nothing is saved."""

    template_name = ""

    def post(self, request, *args, **kwargs):
        form = CampaignForm(request.POST)
        form.is_valid()  # fields outside the content (a past time...) do not stop a preview
        context = {"errors": [], "results": []}
        customer = None
        if not form.chosen_channels():
            context["errors"].append(_("Choose at least one channel."))
        else:
            customer, context["picks"] = _sample_customer(form)
            if customer is None:
                context["errors"].append(_("No customer to preview for: search for one."))
        if not context["errors"]:
            context["customer"] = customer
            for variant in VARIANTS:
                inputs = {**form.preview_inputs(), "contents": form.contents(variant)}
                if variant != "A" and not any(c.body.strip() for c in inputs["contents"]):
                    continue
                try:
                    context["results"].append((variant, self.perform(customer, inputs)))
                except ValidationError as error:
                    form.add_service_errors(error, variant=variant)
                except DomainError as error:
                    context["errors"].append(error.detail)
                    break
            for name, field_errors in form.errors.items():
                if name.startswith(tuple(v.lower() + "_" for v in VARIANTS)):
                    label = form.fields[name].label
                    context["errors"].extend(f"{label}: {e}" for e in field_errors)
        if context["errors"]:
            context["results"] = []
        return render(request, self.template_name, context)

    def perform(self, customer: Customer, inputs: dict):
        raise NotImplementedError


class CampaignPreviewView(_ContentActionView):
    template_name = "campaigns/_campaign_preview.html"

    def perform(self, customer: Customer, inputs: dict):
        return preview.campaign_preview(customer=customer, **inputs)


class CampaignTestSendView(_ContentActionView):
    template_name = "campaigns/_campaign_test_send.html"

    def perform(self, customer: Customer, inputs: dict):
        return preview.campaign_test_send(customer=customer, user=self.request.user, **inputs)


class CampaignDetailView(MarketingScreenMixin, FormView):
    """A campaign's page: what it sends to whom, when; schedule it, send it, cancel it."""

    template_name = "campaigns/campaign_detail.html"
    form_class = ScheduleForm

    def dispatch(self, request, *args, **kwargs):
        self.campaign = get_object_or_404(
            Campaign.objects.select_related(
                "segment", "promoted_product", "winner_variant"
            ).prefetch_related("variants__contents"),
            pk=kwargs["pk"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        context.update(
            campaign=campaign,
            progress=selectors.campaign_progress(campaign=campaign),
            editable=campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
            launchable=campaign.status == CampaignStatus.DRAFT,
            cancellable=campaign.status not in (CampaignStatus.SENT, CampaignStatus.CANCELLED),
        )
        return context

    def form_valid(self, form):
        try:
            services.campaign_schedule(
                campaign=self.campaign, schedule=form.schedule(), performed_by=self.request.user
            )
        except ValidationError as error:
            form.add_service_errors(error)
            return self.form_invalid(form)
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.form_invalid(form)
        messages.success(self.request, _("Campaign scheduled."))
        return HttpResponseRedirect(self.request.path)


class CampaignProgressView(MarketingScreenMixin, TemplateView):
    """The progress panel, polled by htmx while the campaign sends (it stops once done)."""

    template_name = "campaigns/_campaign_progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = get_object_or_404(Campaign, pk=self.kwargs["pk"])
        context.update(campaign=campaign, progress=selectors.campaign_progress(campaign=campaign))
        return context


class _CampaignActionView(MarketingScreenMixin, View):
    """A button on the campaign's page: one service call, its DomainError shown as a message."""

    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        try:
            done = self.perform(campaign)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("campaigns:campaign-detail", args=[campaign.pk]))

    def perform(self, campaign: Campaign) -> str:
        raise NotImplementedError


class CampaignLaunchView(_CampaignActionView):
    def perform(self, campaign: Campaign) -> str:
        result = services.campaign_launch(campaign=campaign, performed_by=self.request.user)
        return _("Sending: %(count)s message(s) queued.") % {"count": result.messages}


class CampaignCancelView(_CampaignActionView):
    def perform(self, campaign: Campaign) -> str:
        services.campaign_cancel(campaign=campaign, performed_by=self.request.user)
        return _("Campaign cancelled.")
