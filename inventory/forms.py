"""Forms of the stock screens and the admin: they validate input, the services apply the rules."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.models import Location, Variant


class ArticleField(forms.CharField):
    """An article typed or scanned by its SKU or its EAN; cleans to the Variant."""

    default_error_messages = {
        "unknown": _("No article has the SKU or EAN “%(code)s”."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("SKU or EAN"))
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value) -> Variant:
        code = super().clean(value).strip()
        variant = Variant.objects.filter(Q(sku__iexact=code) | Q(ean=code)).first()
        if variant is None:
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"code": code}
            )
        return variant


class ReceiveForm(forms.Form):
    article = ArticleField()
    quantity = forms.IntegerField(label=_("Quantity received"), min_value=1)
    reference = forms.CharField(
        label=_("Delivery note"),
        max_length=100,
        help_text=_("The reference on the supplier's or warehouse's delivery note."),
    )


class AdjustForm(forms.Form):
    article = ArticleField()
    delta = forms.IntegerField(
        label=pgettext_lazy("stock adjustment", "Change"),
        help_text=_("Units to add (positive) or to remove (negative), for example -2."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError(_("An adjustment changes the stock by at least one unit."))
        return delta


class CountForm(forms.Form):
    article = ArticleField()
    counted = forms.IntegerField(label=_("Units counted on the shelf"), min_value=0)


class TransferForm(forms.Form):
    destination = forms.ModelChoiceField(
        label=_("Send to"), queryset=Location.objects.filter(is_active=True)
    )
    article = ArticleField()
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)

    def __init__(self, *args, source: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source

    def clean_destination(self) -> Location:
        destination = self.cleaned_data["destination"]
        if destination.pk == self.source.pk:
            raise forms.ValidationError(_("Choose another location than the one sending."))
        return destination


class ShortageReallocateForm(forms.Form):
    location = forms.ModelChoiceField(
        label=_("Re-allocate to"), queryset=Location.objects.filter(is_active=True)
    )

    def __init__(self, *args, shortage_location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(is_active=True).exclude(
            pk=shortage_location.pk
        )


class ShortageCancelForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class LocationForm(forms.Form):
    """The admin's stock forms name the location; the store screens take it from the page."""

    location = forms.ModelChoiceField(
        label=_("Location"), queryset=Location.objects.filter(is_active=True)
    )


class AdminReceiveForm(LocationForm, ReceiveForm):
    field_order = ["location"]


class AdminAdjustForm(LocationForm, AdjustForm):
    field_order = ["location"]


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8, separated by commas or semicolons.")
    )
