"""Forms of the customers staff screens and admin pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


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
