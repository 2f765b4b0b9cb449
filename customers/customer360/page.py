"""The 360° page's context, shared by the staff screen and the admin: same reads, same parts.

Reading it writes the access-log row first, in the same request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from customers.customer360.registry import Viewer
from customers.customer360.selectors import (
    customer_panels,
    customer_timeline,
    timeline_choices,
)
from customers.models import Customer
from customers.services import customer_access_record


class TimelineFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    page = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds, channels = timeline_choices()
        self.fields["kind"].choices = [("", _("All kinds")), *kinds]
        self.fields["channel"].choices = [("", _("All channels")), *channels]
        self.fields["kind"].widget.attrs["id"] = "timeline-kind"
        self.fields["channel"].widget.attrs["id"] = "timeline-channel"


def customer360_context(*, request: HttpRequest, customer: Customer, screen: str) -> dict[str, Any]:
    """Record the read, then build the panels and the requested timeline page."""
    customer_access_record(customer=customer, user=request.user, screen=screen)
    viewer = Viewer(user=request.user, screen=screen)
    form = TimelineFilterForm(request.GET)
    wanted = form.cleaned_data if form.is_valid() else {}
    kind, channel = wanted.get("kind") or "", wanted.get("channel") or ""
    timeline = customer_timeline(
        customer=customer,
        viewer=viewer,
        page=wanted.get("page") or 1,
        kinds=frozenset([kind] if kind else []),
        channels=frozenset([channel] if channel else []),
    )
    kinds, channels = (dict(choices) for choices in timeline_choices())
    filters = urlencode(
        {name: value for name, value in (("kind", kind), ("channel", channel)) if value}
    )
    return {
        "customer": customer,
        "panels": customer_panels(customer=customer, viewer=viewer),
        "timeline": timeline,
        "timeline_form": form if form.is_bound and form.is_valid() else TimelineFilterForm(),
        "timeline_filters": filters,
        "timeline_rows": [
            (entry, kinds.get(entry.kind, entry.kind), channels.get(entry.channel, entry.channel))
            for entry in timeline.entries
        ],
    }
