"""Customers staff screens: search and the customer page; the unsubscribe page for customers."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import DetailView, TemplateView

from customers import selectors, services
from customers.forms import CustomerSearchForm
from customers.links import read_unsubscribe_token
from customers.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    DoNotContactReason,
)
from omni import roles
from omni.views import StaffScreenMixin

CUSTOMER_SCREENS = (roles.STORE_SCREENS, roles.SERVICE_SCREENS)
HISTORY_SHOWN = 20


class CustomerScreenMixin(StaffScreenMixin):
    """Store staff and service agents alike: either permission opens the customer screens."""

    def has_permission(self) -> bool:
        return any(self.request.user.has_perm(perm) for perm in CUSTOMER_SCREENS)


class CustomerSearchView(CustomerScreenMixin, TemplateView):
    template_name = "customers/search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = CustomerSearchForm(self.request.GET or None)
        results = None
        if form.is_valid():
            results = list(selectors.customer_search(query=form.cleaned_data["q"]))
        context.update(form=form, results=results)
        return context


class CustomerDetailView(CustomerScreenMixin, DetailView):
    """The start of the 360° view: profile, consents; the cart comes from the orders app."""

    template_name = "customers/detail.html"
    context_object_name = "customer"

    def get_queryset(self):
        return Customer.objects.live().select_related("preferred_store")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        states = {s.channel: s for s in ConsentState.objects.filter(customer=customer)}
        context["consents"] = [
            (label, states.get(channel)) for channel, label in ContactChannel.choices
        ]
        context["history"] = list(
            ConsentEvent.objects.filter(customer=customer).select_related("store")[:HISTORY_SHOWN]
        )
        context["marketing_channels"] = selectors.reachable_channels(
            customer=customer, purpose=selectors.MessagePurpose.MARKETING
        )
        return context


@method_decorator(csrf_exempt, name="dispatch")  # the signed token is the credential (RFC 8058)
class UnsubscribeView(View):
    """GET confirms, POST withdraws; no login. Mail clients POST List-Unsubscribe=One-Click."""

    template_name = "customers/unsubscribe.html"

    def _read(self, request: HttpRequest, token: str):
        try:
            return read_unsubscribe_token(token), None
        except signing.SignatureExpired:
            message = _("This unsubscribe link has expired. Use the link in a recent message.")
        except signing.BadSignature:
            message = _("This unsubscribe link is not valid. Check that it was copied whole.")
        response = render(request, self.template_name, {"error": message}, status=400)
        return None, response

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        link, error = self._read(request, token)
        if error:
            return error
        customer = get_object_or_404(Customer.objects.live(), pk=link.customer_id)
        return render(
            request,
            self.template_name,
            {"customer": customer, "channel": ContactChannel(link.channel).label},
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        link, error = self._read(request, token)
        if error:
            return error
        customer = get_object_or_404(Customer.objects.live(), pk=link.customer_id)
        services.consent_withdraw(
            customer=customer,
            channel=link.channel,
            reason=DoNotContactReason.UNSUBSCRIBED,
            source=services.ConsentSource(channel=Channel.WEB, evidence="unsubscribe link"),
        )
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(_("Unsubscribed."), content_type="text/plain")
        return render(
            request,
            self.template_name,
            {"done": True, "channel": ContactChannel(link.channel).label},
        )
