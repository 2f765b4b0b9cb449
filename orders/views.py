"""Store screens of the unified cart: the customer's live cart with this store's stock.

Loaded by htmx into the customer page (customers:detail) or shown as a page of its own; every
change goes through orders.cart.services with channel "store" and the staff member.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from customers.models import Channel, Customer
from inventory.models import Location
from omni import roles
from omni.exceptions import DomainError
from omni.views import StaffScreenMixin
from orders.cart import services
from orders.cart.links import cart_send_link
from orders.cart.selectors import cart_trail, cart_view, open_cart_of
from orders.forms import CartLineAddForm, CartQuantityForm
from orders.models import Cart

TRAIL_SHOWN = 12


def staff_store(user) -> Location | None:
    """The store the staff member works at by default (StaffProfile.default_store)."""
    profile = getattr(user, "staff_profile", None)
    return profile.default_store if profile else None


class _CustomerCartMixin(StaffScreenMixin):
    permission_required = roles.STORE_SCREENS

    def get_customer(self) -> Customer:
        return get_object_or_404(Customer.objects.live(), pk=self.kwargs["customer_id"])

    def render_cart(
        self,
        request: HttpRequest,
        customer: Customer,
        *,
        add_form: forms.Form | None = None,
        status: int = 200,
    ) -> HttpResponse:
        cart = open_cart_of(customer=customer)
        store = staff_store(request.user)
        context = {
            "customer": customer,
            "cart": cart,
            "store": store,
            "view": cart_view(cart=cart, store=store) if cart else None,
            "trail": _recent_trail(cart) if cart else [],
            "add_form": add_form or CartLineAddForm(),
        }
        template = "orders/_cart.html" if request.htmx else "orders/customer_cart.html"
        return render(request, template, context, status=status)


def _recent_trail(cart: Cart) -> list:
    return list(reversed(cart_trail(cart=cart).order_by("-at", "-pk")[:TRAIL_SHOWN]))


class CustomerCartView(_CustomerCartMixin, View):
    """The customer's cart with the stock at this store (a page, or a partial for htmx)."""

    def get(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customer = self.get_customer()
        cart = open_cart_of(customer=customer)
        if cart is not None:
            services.cart_record_open(cart=cart, channel=Channel.STORE, performed_by=request.user)
        return self.render_cart(request, customer)


class _CartActionView(_CustomerCartMixin, View):
    """POST a form, call one service, show the cart again; a DomainError becomes a form error."""

    form_class: type[forms.Form] = CartQuantityForm
    creates_cart = False

    def perform(self, cart: Cart, data: dict) -> str:
        """Call the service; return the success message."""
        raise NotImplementedError

    def post(self, request: HttpRequest, customer_id: int, **kwargs) -> HttpResponse:
        customer = self.get_customer()
        form = self.form_class(request.POST)
        if form.is_valid():
            if self.creates_cart:
                cart = services.cart_for_customer(customer=customer, channel=Channel.STORE)
            else:
                cart = open_cart_of(customer=customer)
                if cart is None:
                    raise Http404
            try:
                messages.success(request, self.perform(cart, form.cleaned_data))
            except DomainError as error:
                form.add_error(None, error.detail)
        if form.errors:
            add_form = form if isinstance(form, CartLineAddForm) else None
            if add_form is None:
                for error in form.errors.values():
                    messages.error(request, " ".join(error))
            # htmx only swaps successful answers: errors come back as 200 in the partial.
            status = 200 if request.htmx else 400
            return self.render_cart(request, customer, add_form=add_form, status=status)
        if request.htmx:
            return self.render_cart(request, customer)
        return redirect("orders:customer-cart", customer_id=customer.pk)


class CartLineAddView(_CartActionView):
    form_class = CartLineAddForm
    creates_cart = True

    def perform(self, cart: Cart, data: dict) -> str:
        line = services.cart_add_line(
            cart=cart,
            variant=data["sku"],
            quantity=data["quantity"],
            channel=Channel.STORE,
            performed_by=self.request.user,
        )
        return _("%(sku)s added: %(quantity)d in the cart.") % {
            "sku": data["sku"].sku,
            "quantity": line.quantity,
        }


class CartLineQuantityView(_CartActionView):
    def perform(self, cart: Cart, data: dict) -> str:
        services.cart_set_quantity(
            cart=cart,
            line_id=self.kwargs["line_id"],
            quantity=data["quantity"],
            channel=Channel.STORE,
            performed_by=self.request.user,
        )
        return _("Quantity changed.")


class CartLineRemoveView(_CartActionView):
    form_class = forms.Form

    def perform(self, cart: Cart, data: dict) -> str:
        services.cart_remove_line(
            cart=cart,
            line_id=self.kwargs["line_id"],
            channel=Channel.STORE,
            performed_by=self.request.user,
        )
        return _("Line removed.")


class CartSendLinkView(_CartActionView):
    form_class = forms.Form

    def perform(self, cart: Cart, data: dict) -> str:
        via = cart_send_link(cart=cart, channel=Channel.STORE, performed_by=self.request.user)
        return _("A link to finish online is on its way (%(channel)s).") % {"channel": via}
