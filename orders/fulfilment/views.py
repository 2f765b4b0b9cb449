"""Store screens of the order lifecycle: the pickup queue, the order page with its allowed
actions, and one POST view per action, each calling one service.

Store-scoped: staff see and act on the orders of the stores on their StaffProfile only; another
store's order or fulfilment answers 404 (its existence is not revealed). A DomainError becomes
an error message on the order page, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from inventory.models import Location
from inventory.views import StoreScreenMixin
from omni.exceptions import DomainError
from orders import forms, services
from orders.fulfilment import machine, selectors
from orders.models import Fulfilment, FulfilmentKind, FulfilmentStatus, Order

S = FulfilmentStatus


def order_url(order: Order, store: Location | None = None) -> str:
    url = reverse("orders:order-detail", kwargs={"number": order.number})
    return f"{url}?{urlencode({'store': store.code})}" if store else url


@dataclass(frozen=True)
class Action:
    """A button on the order page: the status it leads to and the service it calls."""

    name: str
    label: Promise
    to_status: str
    run: Callable[[Fulfilment, object, dict], object]
    form: type[django_forms.Form] = django_forms.Form
    ship_from_store_only: bool = False


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "transfer-arrived",
            gettext_lazy("Transfer received"),
            S.RESERVED,
            lambda f, user, data: services.pickup_transfer_arrived(fulfilment=f, performed_by=user),
        ),
        Action(
            "ready",
            gettext_lazy("Picked: ready for pickup"),
            S.READY,
            lambda f, user, data: services.pickup_mark_ready(fulfilment=f, performed_by=user),
        ),
        Action(
            "collect",
            gettext_lazy("Hand over"),
            S.COLLECTED,
            lambda f, user, data: services.pickup_collect(fulfilment=f, performed_by=user, **data),
            form=forms.CollectForm,
        ),
        Action(
            "accept",
            gettext_lazy("Accept the parcel"),
            S.ACCEPTED,
            lambda f, user, data: services.shipment_accept(fulfilment=f, performed_by=user),
            ship_from_store_only=True,
        ),
        Action(
            "reject",
            gettext_lazy("Reject the parcel"),
            S.REJECTED,
            lambda f, user, data: services.shipment_reject(fulfilment=f, performed_by=user, **data),
            form=forms.ReasonForm,
            ship_from_store_only=True,
        ),
        Action(
            "pick",
            gettext_lazy("Start picking"),
            S.PICKING,
            lambda f, user, data: services.shipment_start_picking(fulfilment=f, performed_by=user),
        ),
        Action(
            "ship",
            gettext_lazy("Shipped"),
            S.SHIPPED,
            lambda f, user, data: services.shipment_ship(fulfilment=f, performed_by=user, **data),
            form=forms.ShipForm,
        ),
        Action(
            "deliver",
            gettext_lazy("Delivered"),
            S.DELIVERED,
            lambda f, user, data: services.shipment_deliver(fulfilment=f, performed_by=user),
        ),
        Action(
            "cancel",
            gettext_lazy("Cancel"),
            S.CANCELLED,
            lambda f, user, data: services.fulfilment_cancel(
                fulfilment=f, performed_by=user, **data
            ),
            form=forms.OptionalReasonForm,
        ),
    )
}


def actions_for(fulfilment: Fulfilment) -> list[Action]:
    """The actions the state machine allows on this fulfilment now."""
    allowed = machine.allowed_next(kind=fulfilment.kind, status=fulfilment.status)
    ship_from_store = fulfilment.location.is_store and fulfilment.location.ship_from_store
    return [
        action
        for action in ACTIONS.values()
        if action.to_status in allowed
        and (ship_from_store or not action.ship_from_store_only)
        # A pickup's ready step is the staff confirmation after picking, not a "pick" button.
        and not (fulfilment.kind == FulfilmentKind.CLICK_AND_COLLECT and action.name == "pick")
    ]


class _StoreOrdersMixin(StoreScreenMixin):
    def store_orders(self):
        return selectors.orders_of_stores(
            store_ids=[store.pk for store in self.staff_stores.stores]
        )


class PickupQueueView(_StoreOrdersMixin, TemplateView):
    """The store's pickups to prepare, ready and overdue, and its parcels to ship, with counts."""

    template_name = "orders/pickup_queue.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["queue"] = selectors.pickup_queue(store=self.store) if self.store else None
        return context


class OrderDetailView(_StoreOrdersMixin, TemplateView):
    """An order of the user's stores with its lines, fulfilments, history, returns and actions."""

    template_name = "orders/order_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = selectors.order_detail(orders=self.store_orders(), number=kwargs["number"])
        if order is None:
            raise Http404
        mine = {store.pk for store in self.staff_stores.stores}
        context.update(
            order=order,
            fulfilments=[
                (
                    fulfilment,
                    actions_for(fulfilment) if fulfilment.location_id in mine else [],
                )
                for fulfilment in order.fulfilments.all()
            ],
            cancellable=not any(f.status in machine.HANDED_OVER for f in order.fulfilments.all())
            and any(
                not machine.is_final(kind=f.kind, status=f.status) for f in order.fulfilments.all()
            ),
            forms={
                "collect": forms.CollectForm(),
                "reject": forms.ReasonForm(),
                "ship": forms.ShipForm(),
            },
        )
        return context


class FulfilmentActionView(StoreScreenMixin, View):
    """POST one action on a fulfilment of the user's stores; back to the order page."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        chosen = ACTIONS.get(action)
        if chosen is None:
            raise Http404
        fulfilment = get_object_or_404(
            Fulfilment.objects.select_related("order", "location"),
            pk=pk,
            location__in=[store.pk for store in self.staff_stores.stores],
        )
        form = chosen.form(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        else:
            try:
                chosen.run(fulfilment, request.user, form.cleaned_data)
            except DomainError as error:
                messages.error(request, error.detail)
            else:
                messages.success(
                    request,
                    _("%(reference)s: %(action)s.")
                    % {"reference": fulfilment.reference, "action": chosen.label},
                )
        return HttpResponseRedirect(order_url(fulfilment.order, fulfilment.location))


class OrderCancelView(_StoreOrdersMixin, View):
    """Cancel every open fulfilment of an order of the user's stores."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        order = get_object_or_404(self.store_orders(), number=number)
        form = forms.OptionalReasonForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        try:
            services.order_cancel(order=order, performed_by=request.user, reason=reason)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, _("Order %(number)s cancelled.") % {"number": number})
        return HttpResponseRedirect(order_url(order, self.store))
