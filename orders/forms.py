"""Forms of the store screens' cart; they validate input, the services apply the rules."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inventory.models import Variant
from inventory.selectors import sellable_variants
from orders.services import MAX_LINE_QUANTITY


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


# --- pickups and parcels -------------------------------------------------------------------------


class CollectForm(forms.Form):
    code = forms.CharField(label=_("Pickup code"), max_length=12, required=False)
    identity_checked = forms.BooleanField(
        label=_("No code: I checked the customer's identity"), required=False
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=60)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)


# --- returns desk --------------------------------------------------------------------------------


class ReturnSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Order number, customer email or phone, or pickup code"), max_length=254
    )


class ReturnForm(forms.Form):
    """One quantity field per returnable line (`quantity_<line id>`), the reason and the refund."""

    reason = forms.CharField(label=_("Reason"), max_length=200)
    refund_amount = forms.DecimalField(
        label=_("Refund"), min_value=0, max_digits=12, decimal_places=2
    )
    refund_reference = forms.CharField(
        label=_("Refund reference (till or provider)"), max_length=100, required=False
    )

    def __init__(self, *args, returnable: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.returnable = returnable
        for item in returnable:
            self.fields[f"quantity_{item.line.pk}"] = forms.IntegerField(
                label=_("Units of %(sku)s to return") % {"sku": item.line.sku},
                min_value=0,
                max_value=item.returnable,
                initial=0,
                required=False,
            )

    def quantity_fields(self) -> list:
        return [(item, self[f"quantity_{item.line.pk}"]) for item in self.returnable]

    def clean(self) -> dict:
        data = super().clean()
        data["lines"] = [
            (item.line.pk, data.get(f"quantity_{item.line.pk}") or 0)
            for item in self.returnable
            if data.get(f"quantity_{item.line.pk}")
        ]
        if not data["lines"] and not self.errors:
            raise forms.ValidationError(_("Choose at least one unit to return."))
        return data


# --- till ----------------------------------------------------------------------------------------


class TillStartForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer email, phone or loyalty card (empty: a walk-in sale)"),
        max_length=254,
        required=False,
    )


class TillPayForm(forms.Form):
    provider = forms.ChoiceField(
        label=_("Paid by"),
        choices=[("card", _("Card")), ("cash", _("Cash")), ("voucher", _("Voucher"))],
    )
    reference = forms.CharField(label=_("Payment reference (terminal receipt)"), max_length=100)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=12, decimal_places=2)
    loyalty_points = forms.IntegerField(
        label=_("Loyalty points used (their value comes off the amount)"),
        min_value=0,
        required=False,
        initial=0,
    )
    discount_code = forms.CharField(
        label=_("Discount code (from a campaign message)"), max_length=40, required=False
    )
    # One key per rendering of the form: a double click, or the page sent again, replays the sale
    # instead of refusing it (orders.services.order_checkout_idempotent). Blank (a page from
    # before the key): the view draws one, and the sale is simply not replayable.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)
