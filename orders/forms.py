"""Forms of the store screens' cart; they validate input, the services apply the rules."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inventory.models import Variant
from inventory.selectors import sellable_variants
from orders.cart.services import MAX_LINE_QUANTITY


class CartLineAddForm(forms.Form):
    sku = forms.CharField(label=_("SKU or EAN"), max_length=40)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_LINE_QUANTITY, initial=1
    )

    def clean_sku(self) -> Variant:
        code = self.cleaned_data["sku"].strip()
        # The till's scanner reads the EAN; staff type the SKU.
        variant = (
            sellable_variants()
            .filter(Q(sku__iexact=code) | Q(ean=code))
            .select_related("product")
            .first()
        )
        if variant is None:
            raise forms.ValidationError(_("No article on sale has this SKU or EAN."))
        return variant


class CartQuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_LINE_QUANTITY)
