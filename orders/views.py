"""Store screens of the unified cart, the returns desk and the till.

The customer's live cart with this store's stock is loaded by htmx into the customer page
(customers:detail) or shown as a page of its own; every change goes through orders.services
with channel "store" and the staff member. The returns desk takes back any channel's order at
the user's store (`return_create`); the till turns a cart into an in-store sale through the one
checkout service. The pickup and order screens are in orders.fulfilment.views.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from customers.models import Channel, Customer
from customers.phone import phone_or_none
from inventory.models import Location
from inventory.views import StoreScreenMixin
from omni import roles
from omni.exceptions import DomainError
from omni.views import StaffScreenMixin
from orders import services
from orders.cart.selectors import cart_trail, cart_view, open_cart_of
from orders.checkout.discounts import discount_quote, discount_saving
from orders.checkout.exceptions import IdempotencyKeyReused
from orders.checkout.types import PaymentInfo, StoreSaleChoice
from orders.forms import (
    CartLineAddForm,
    CartQuantityForm,
    ReturnForm,
    ReturnSearchForm,
    TillPayForm,
    TillStartForm,
)
from orders.models import OPEN_STATUSES, Cart, Order, PaymentStatus

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
        via = services.cart_send_link(
            cart=cart, channel=Channel.STORE, performed_by=self.request.user
        )
        return _("A link to finish online is on its way (%(channel)s).") % {"channel": via}


# --- returns desk ------------------------------------------------------------------------------


RESULTS_SHOWN = 20


class ReturnsDeskView(StoreScreenMixin, TemplateView):
    """Find an order of any channel by number, customer email or phone, or pickup code."""

    template_name = "orders/returns_desk.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = ReturnSearchForm(self.request.GET or None)
        found = []
        if form.is_valid():
            found = list(
                services.orders_matching(
                    query=form.cleaned_data["q"],
                    store_ids=[store.pk for store in self.staff_stores.stores],
                )[:RESULTS_SHOWN]
            )
        context.update(form=form, found=found, searched=form.is_bound)
        return context


class ReturnCreateView(StoreScreenMixin, FormView):
    """Take back units of an order at the user's store: a return of any channel's order."""

    template_name = "orders/return_form.html"
    form_class = ReturnForm
    store_required = True

    def dispatch(self, request, *args, **kwargs):
        self.order = get_object_or_404(
            Order.objects.select_related("customer"), number=kwargs["number"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["returnable"] = [
            item for item in services.returnable_lines(order=self.order) if item.returnable
        ]
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(order=self.order, returns=self.order.returns.select_related("location"))
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.return_create(
                order=self.order,
                location=self.store,
                lines=data["lines"],
                reason=data["reason"],
                refund_amount=data["refund_amount"],
                performed_by=self.request.user,
                refund_reference=data["refund_reference"],
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(
            self.request,
            _("Return recorded: %(amount)s %(currency)s to refund.")
            % {"amount": data["refund_amount"], "currency": self.order.currency},
        )
        return redirect(f"{self.request.path}?{urlencode({'store': self.store.code})}")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- till ----------------------------------------------------------------------------------------


def new_idempotency_key() -> str:
    """A fresh key for a pay form: one sale per form shown."""
    return uuid.uuid4().hex


def _till_url(cart: Cart, store: Location | None) -> str:
    url = reverse("orders:till-cart", kwargs={"cart_id": cart.pk})
    return f"{url}?{urlencode({'store': store.code})}" if store else url


class TillStartView(StoreScreenMixin, FormView):
    """Start a sale: open the customer's cart (the one she built online) or an empty one."""

    template_name = "orders/till_start.html"
    form_class = TillStartForm
    store_required = True

    def form_valid(self, form):
        query = form.cleaned_data["customer"].strip()
        if not query:
            cart = services.cart_create_anonymous(channel=Channel.STORE)
        else:
            customer = (
                Customer.objects.live()
                .filter(
                    Q(email__iexact=query)
                    | Q(card_number__iexact=query)
                    | Q(phone=phone_or_none(query) or query)
                )
                .first()
            )
            if customer is None:
                form.add_error("customer", _("No customer has this email, phone or card."))
                return self.form_invalid(form)
            cart = services.cart_for_customer(customer=customer, channel=Channel.STORE)
            services.cart_record_open(
                cart=cart, channel=Channel.STORE, performed_by=self.request.user
            )
        return redirect(_till_url(cart, self.store))

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class _TillMixin(StoreScreenMixin):
    store_required = True

    def get_cart(self) -> Cart:
        return get_object_or_404(
            Cart.objects.select_related("customer"),
            pk=self.kwargs["cart_id"],
            status__in=OPEN_STATUSES,
        )

    def render_till(
        self, request, cart: Cart, *, add_form=None, pay_form=None, status=200, quote=None
    ):
        view = cart_view(cart=cart, store=self.store)
        context = {
            "cart": cart,
            "view": view,
            "store": self.store,
            "stores": self.staff_stores.stores,
            "add_form": add_form or CartLineAddForm(),
            "pay_form": pay_form
            or TillPayForm(
                initial={"amount": view.total, "idempotency_key": new_idempotency_key()}
            ),
            "quote": quote,
        }
        return render(request, "orders/till.html", context, status=status)


class TillCartView(_TillMixin, View):
    """The sale in progress: its lines with this store's stock, and the payment form."""

    def get(self, request: HttpRequest, cart_id: int) -> HttpResponse:
        return self.render_till(request, self.get_cart())


class TillLineView(_TillMixin, View):
    """Add a line, change a quantity or remove a line (POST), then show the sale again."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, cart_id: int, line_id: int | None = None, remove=False):
        cart = self.get_cart()
        form = CartLineAddForm(request.POST) if line_id is None else CartQuantityForm(request.POST)
        if remove:
            form = forms.Form(request.POST)
        if form.is_valid():
            try:
                self.apply(cart, form.cleaned_data, line_id=line_id, remove=remove)
            except DomainError as error:
                form.add_error(None, error.detail)
        if form.errors:
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
            return self.render_till(request, cart, status=400)
        return redirect(_till_url(cart, self.store))

    def apply(self, cart: Cart, data: dict, *, line_id: int | None, remove: bool) -> None:
        staff = {"channel": Channel.STORE, "performed_by": self.request.user}
        if line_id is None:
            services.cart_add_line(
                cart=cart, variant=data["sku"], quantity=data["quantity"], **staff
            )
        elif remove:
            services.cart_remove_line(cart=cart, line_id=line_id, **staff)
        else:
            services.cart_set_quantity(
                cart=cart, line_id=line_id, quantity=data["quantity"], **staff
            )


class TillPayView(_TillMixin, View):
    """Take the payment reference and turn the cart into a till sale (one checkout call).

    The checkout is the API's, idempotent: the pay form carries a key drawn when it was shown,
    so the same form sent twice (a double click, the page sent again) records one sale and
    answers with it both times.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, cart_id: int) -> HttpResponse:
        if "apply_code" in request.POST:
            return self.apply_code(request, self.get_cart())
        form = TillPayForm(request.POST)
        if not form.is_valid():
            return self.render_till(request, self.get_cart(), pay_form=form, status=400)
        # Whatever its status: the form sent again after its sale finds the cart sold, and the
        # key replays that sale.
        cart = get_object_or_404(Cart.objects.select_related("customer"), pk=cart_id)
        data = form.cleaned_data
        try:
            answer = services.order_checkout_idempotent(
                scope=f"staff:{request.user.pk}",
                key=data["idempotency_key"] or new_idempotency_key(),
                request={
                    "cart": cart.pk,
                    "store": self.store.pk,
                    **{name: value for name, value in data.items() if name != "idempotency_key"},
                },
                render=lambda order: {"number": order.number},
                cart=cart,
                channel=Channel.STORE,
                fulfilment=StoreSaleChoice(store=self.store),
                payment=PaymentInfo(
                    provider=data["provider"],
                    reference=data["reference"],
                    status=PaymentStatus.CAPTURED,
                    amount=data["amount"],
                ),
                performed_by=request.user,
                loyalty_points=data["loyalty_points"] or 0,
                discount_code=data["discount_code"],
            )
        except IdempotencyKeyReused:
            form.add_error(None, _("This payment form was already sent for another sale."))
        except DomainError as error:
            field = "discount_code" if "discount_code" in error.extra.get("fields", {}) else None
            form.add_error(field, error.detail)
        else:
            number = answer.data["number"]
            messages.success(request, _("Sale %(number)s done.") % {"number": number})
            url = reverse("orders:order-detail", kwargs={"number": number})
            return redirect(f"{url}?{urlencode({'store': self.store.code})}")
        return self.render_till(request, cart, pay_form=form, status=400)

    def apply_code(self, request: HttpRequest, cart: Cart) -> HttpResponse:
        """Check the discount code (without taking it) and show the amount left to pay."""
        view = cart_view(cart=cart, store=self.store)
        code = request.POST.get("discount_code", "")
        try:
            discount = discount_quote(
                code=code, customer=cart.customer, subtotal=view.total, at=timezone.now()
            )
        except DomainError as error:
            form = TillPayForm(data={**request.POST.dict(), "amount": view.total})
            form.is_valid()
            for name in [name for name in form.errors if name != "discount_code"]:
                del form.errors[name]  # the payment is not taken yet: only the code is wrong
            form.add_error("discount_code", error.detail)
            return self.render_till(request, cart, pay_form=form, status=400)
        saved = discount_saving([line.line_total for line in view.lines], discount)
        to_pay = view.total - saved
        typed = {name: request.POST.get(name) for name in ("provider", "reference")}
        typed["idempotency_key"] = request.POST.get("idempotency_key") or new_idempotency_key()
        form = TillPayForm(initial={**typed, "amount": to_pay, "discount_code": discount.code})
        quote = {"label": discount.label, "saved": saved, "to_pay": to_pay}
        return self.render_till(request, cart, pay_form=form, quote=quote)
