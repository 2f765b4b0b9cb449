"""The store stock screens: lookup, low stock, shortages, transfers, and the managers' forms.

Every screen works on one store, chosen with `?store=CODE` among the stores the user works at
(her default store otherwise); another store's code answers 403. The forms call
`inventory.services` and turn a broken rule (a DomainError) into a form error.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from inventory import forms, screens, selectors, services
from inventory.models import (
    Location,
    Shortage,
    ShortageStatus,
    Transfer,
    TransferStatus,
)
from omni import roles
from omni.exceptions import DomainError
from omni.views import StaffScreenMixin


def store_url(name: str, store: Location | None, **params) -> str:
    """The URL of screen `name` for `store`, with extra query parameters."""
    query = {"store": store.code} if store else {}
    query.update({key: value for key, value in params.items() if value})
    url = reverse(f"inventory:{name}")
    return f"{url}?{urlencode(query)}" if query else url


class StoreScreenMixin(StaffScreenMixin):
    """Resolves `self.store` from `?store=` among the user's stores: 403 for any other store."""

    permission_required = roles.STORE_SCREENS
    store_required = False

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.has_permission():
            self.staff_stores = screens.staff_stores(request.user)
            self.store = self.staff_stores.choose(request.GET.get("store"))
            if self.store_required and self.store is None:
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            store=self.store,
            stores=self.staff_stores.stores,
            can_manage=self.request.user.has_perm(roles.STORE_MANAGEMENT),
        )
        return context


class StockLookupView(StoreScreenMixin, TemplateView):
    """Find an article by SKU, EAN or name and see its stock here, nearby and in warehouses."""

    template_name = "inventory/stock_lookup.html"
    partial_template_name = "inventory/_stock_results.html"

    def get_template_names(self) -> list[str]:
        if self.request.htmx:
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()
        variants = screens.find_variants(query=query)
        context.update(
            query=query,
            results=screens.stock_lookup(variants=variants, store=self.store),
            refresh_url=store_url("stock-lookup", self.store, q=query),
        )
        return context


class LowStockView(StoreScreenMixin, ListView):
    """Articles whose available stock at the store is at or under their low-stock threshold."""

    template_name = "inventory/low_stock.html"
    context_object_name = "levels"
    paginate_by = 50
    store_required = True

    def get_queryset(self):
        return selectors.low_stock(location=self.store)


class ShortageListView(StoreScreenMixin, ListView):
    """Reservations a count could no longer cover at the store, waiting for a decision."""

    template_name = "inventory/shortages.html"
    context_object_name = "shortages"
    paginate_by = 50
    store_required = True

    def get_queryset(self):
        return (
            Shortage.objects.filter(location=self.store, status=ShortageStatus.OPEN)
            .select_related("variant")
            .order_by("created_at", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # One list for every row's select: a form per row would query the locations each time.
        context["locations"] = list(
            Location.objects.filter(is_active=True).exclude(pk=self.store.pk)
        )
        return context


class TransferListView(StoreScreenMixin, ListView):
    """Transfers on their way to the store, and the ones it sent lately."""

    template_name = "inventory/transfers.html"
    context_object_name = "incoming"
    store_required = True
    recent_outgoing = 20

    def get_queryset(self):
        return (
            Transfer.objects.filter(destination=self.store, status=TransferStatus.IN_TRANSIT)
            .select_related("source")
            .prefetch_related("lines__variant")
            .order_by("created_at", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["outgoing"] = (
            Transfer.objects.filter(source=self.store)
            .select_related("destination")
            .prefetch_related("lines__variant")[: self.recent_outgoing]
        )
        return context


class StockOperationView(StoreScreenMixin, FormView):
    """A manager's form on one store's stock: one service call, its DomainError a form error."""

    permission_required = (roles.STORE_SCREENS, roles.STORE_MANAGEMENT)
    store_required = True
    template_name = "inventory/stock_form.html"
    title = ""
    intro = ""
    submit_label = gettext_lazy("Save")
    success_query = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, intro=self.intro, submit_label=self.submit_label)
        return context

    def form_valid(self, form):
        try:
            message = self.perform(form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(self.get_success_url())

    def perform(self, data: dict) -> str:
        """Call the service; return the message shown once it is done."""
        raise NotImplementedError

    def get_success_url(self) -> str:
        # Back to the lookup on the article just changed, to see its new stock.
        return store_url("stock-lookup", self.store, q=self.success_query)


class StockReceiveView(StockOperationView):
    form_class = forms.ReceiveForm
    title = gettext_lazy("Receive stock")
    intro = gettext_lazy("Record units delivered to this store.")
    submit_label = gettext_lazy("Receive")

    def perform(self, data: dict) -> str:
        variant = data["article"]
        services.stock_receive(
            location=self.store,
            lines=[services.StockLine(variant_id=variant.pk, quantity=data["quantity"])],
            reference=data["reference"],
            performed_by=self.request.user,
        )
        self.success_query = variant.sku
        return _("%(quantity)s units of %(sku)s received.") % {
            "quantity": data["quantity"],
            "sku": variant.sku,
        }


class StockAdjustView(StockOperationView):
    form_class = forms.AdjustForm
    title = gettext_lazy("Adjust stock")
    intro = gettext_lazy("Correct the stock of an article (damaged, lost, found), with a reason.")
    submit_label = gettext_lazy("Adjust")

    def perform(self, data: dict) -> str:
        variant = data["article"]
        services.stock_adjust(
            location=self.store,
            variant_id=variant.pk,
            delta=data["delta"],
            reason=data["reason"],
            performed_by=self.request.user,
        )
        self.success_query = variant.sku
        return _("Stock of %(sku)s adjusted by %(delta)+d.") % {
            "sku": variant.sku,
            "delta": data["delta"],
        }


class StockCountView(StockOperationView):
    form_class = forms.CountForm
    title = gettext_lazy("Count stock")
    intro = gettext_lazy(
        "Enter what is on the shelf: the stock is set to it, and reservations it can no longer "
        "cover go to the shortage queue."
    )
    submit_label = gettext_lazy("Record the count")

    def perform(self, data: dict) -> str:
        variant = data["article"]
        result = services.stock_count(
            location=self.store,
            variant_id=variant.pk,
            counted=data["counted"],
            performed_by=self.request.user,
        )
        self.success_query = variant.sku
        if result.shortages:
            return _("Count of %(sku)s recorded; %(count)s reservation(s) are now short.") % {
                "sku": variant.sku,
                "count": len(result.shortages),
            }
        return _("Count of %(sku)s recorded.") % {"sku": variant.sku}


class TransferShipView(StockOperationView):
    form_class = forms.TransferForm
    title = gettext_lazy("Send a transfer")
    intro = gettext_lazy("Send units from this store to another store or a warehouse.")
    submit_label = pgettext_lazy("stock transfer", "Send")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "source": self.store}

    def perform(self, data: dict) -> str:
        variant = data["article"]
        transfer = services.stock_transfer_ship(
            source=self.store,
            destination=data["destination"],
            lines=[services.StockLine(variant_id=variant.pk, quantity=data["quantity"])],
            performed_by=self.request.user,
        )
        self.success_query = variant.sku
        return _("Transfer %(reference)s sent to %(destination)s.") % {
            "reference": transfer.reference,
            "destination": data["destination"],
        }


class StoreObjectActionView(StoreScreenMixin, View):
    """A POST-only action on a row of one of the user's stores; back to the list afterwards."""

    permission_required = (roles.STORE_SCREENS, roles.STORE_MANAGEMENT)
    http_method_names = ["post"]
    list_name = ""

    def store_of(self, obj) -> Location:
        raise NotImplementedError

    def post(self, request, pk: int):
        obj = get_object_or_404(self.model, pk=pk)
        store = self.store_of(obj)
        if not self.staff_stores.allows(store):
            raise PermissionDenied
        try:
            message = self.perform(obj)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, message)
        return HttpResponseRedirect(store_url(self.list_name, store))


class TransferReceiveView(StoreObjectActionView):
    model = Transfer
    list_name = "transfers"

    def store_of(self, transfer: Transfer) -> Location:
        return transfer.destination

    def perform(self, transfer: Transfer) -> str:
        services.stock_transfer_receive(transfer=transfer, performed_by=self.request.user)
        return _("Transfer %(reference)s received.") % {"reference": transfer.reference}


class ShortageResolveView(StoreObjectActionView):
    model = Shortage
    list_name = "shortages"

    def store_of(self, shortage: Shortage) -> Location:
        return shortage.location

    def post(self, request, pk: int):
        self.form_data = request.POST
        return super().post(request, pk)


class ShortageReallocateView(ShortageResolveView):
    def perform(self, shortage: Shortage) -> str:
        form = forms.ShortageReallocateForm(self.form_data, shortage_location=shortage.location)
        if not form.is_valid():
            raise DomainError(_("Choose the location that will hold the reservation."))
        location = form.cleaned_data["location"]
        services.shortage_reallocate(
            shortage=shortage, location=location, performed_by=self.request.user
        )
        return _("Reservation %(reference)s re-allocated to %(location)s.") % {
            "reference": shortage.reference,
            "location": location,
        }


class ShortageCancelView(ShortageResolveView):
    def perform(self, shortage: Shortage) -> str:
        form = forms.ShortageCancelForm(self.form_data)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        services.shortage_cancel(shortage=shortage, performed_by=self.request.user, note=note)
        return _("Reservation %(reference)s cancelled.") % {"reference": shortage.reference}
