"""Forms of the customers staff screens and admin pages."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import (
    ContactDirection,
    ContactOutcome,
    ContactReason,
    Conversation,
    Customer,
    ServiceChannel,
)
from inventory.models import Location, LocationKind


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, email, phone or card number"), min_length=2, max_length=100, strip=True
    )


class MergeForm(forms.Form):
    winner = forms.ModelChoiceField(
        label=_("Profile to keep"), queryset=Customer.objects.none(), widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["winner"].queryset = customers


class EraseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the request, its date and how identity was checked)"), max_length=200
    )


class LoyaltyAdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), help_text=_("Negative to remove points."), min_value=-1_000_000
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Adjust by at least one point."))
        return points


class ContactLogForm(forms.Form):
    """Log a contact: the customer comes from the page, the agent from the session."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ServiceChannel.choices)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=ContactDirection.choices, initial=ContactDirection.INBOUND
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=ContactReason.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactOutcome.choices)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}))
    conversation = forms.ModelChoiceField(
        label=_("Continues"),
        queryset=Conversation.objects.none(),
        required=False,
        empty_label=_("A new matter (new conversation)"),
    )
    store = forms.ModelChoiceField(
        label=_("Store (for a visit)"),
        queryset=Location.objects.filter(kind=LocationKind.STORE, is_active=True),
        required=False,
    )

    def __init__(self, *args, conversations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conversation"].queryset = conversations


class ContactReportForm(forms.Form):
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until (included)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start comes after the end."))
        return data


class SurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
