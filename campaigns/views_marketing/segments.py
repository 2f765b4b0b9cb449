"""The segment screens: the list, and the editor with its live count and sample (htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView

from campaigns import selectors, services
from campaigns.forms import SegmentForm, parse_rules
from campaigns.models import Segment
from campaigns.segments import REGISTRY
from campaigns.views import MarketingScreenMixin

SAMPLE_SIZE = 10


class SegmentListView(MarketingScreenMixin, ListView):
    template_name = "campaigns/segment_list.html"
    context_object_name = "segments"
    paginate_by = 50

    def get_queryset(self):
        return Segment.objects.annotate(campaign_count=Count("campaigns")).order_by("name")


def field_reference() -> list[dict]:
    """The fields rules may name, with their operators and parameters: the editor's help."""
    return [
        {
            "field": kind.field,
            "label": kind.label,
            "operators": list(kind.operators),
            "options": list(kind.options),
        }
        for kind in REGISTRY.values()
    ]


class SegmentEditView(MarketingScreenMixin, FormView):
    """Create a segment, or change one's rules and description, through the segment services."""

    template_name = "campaigns/segment_form.html"
    form_class = SegmentForm

    def dispatch(self, request, *args, **kwargs):
        self.segment = get_object_or_404(Segment, pk=kwargs["pk"]) if "pk" in kwargs else None
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "segment": self.segment}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(segment=self.segment, fields=field_reference())
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        if self.segment is not None:
            segment = services.segment_update(
                segment=self.segment, rules=data["rules"], description=data["description"]
            )
            messages.success(self.request, _("Segment “%(name)s” saved.") % {"name": segment})
            return HttpResponseRedirect(reverse("campaigns:segment-list"))
        try:
            segment = services.segment_create(
                name=data["name"],
                rules=data["rules"],
                description=data["description"],
                created_by=self.request.user,
            )
        except IntegrityError:  # another marketer took the name since the form checked it
            form.add_error("name", _("A segment already has this name."))
            return self.form_invalid(form)
        messages.success(self.request, _("Segment “%(name)s” created.") % {"name": segment})
        return HttpResponseRedirect(reverse("campaigns:segment-list"))


class SegmentCountView(MarketingScreenMixin, TemplateView):
    """The editor's live count and sample for the rules typed so far (htmx, GET ?rules=...).

    It only reads: the rules are compiled by the same compiler as a send, into one count query
    and one sample query. Invalid rules answer the compiler's message naming the rule.
    """

    template_name = "campaigns/_segment_count.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        raw = self.request.GET.get("rules", "")
        try:
            rules = parse_rules(raw)
        except ValidationError as exc:
            context["error"] = exc.messages[0]
            return context
        context.update(
            count=selectors.segment_count(rules=rules),
            sample=selectors.segment_sample(rules=rules, size=SAMPLE_SIZE),
        )
        return context
