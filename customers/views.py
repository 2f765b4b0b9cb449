"""Customers staff screens: search and the customer page; the unsubscribe page for customers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import DetailView, FormView, TemplateView

from customers import loyalty, satisfaction, selectors, services
from customers.forms import ContactLogForm, ContactReportForm, CustomerSearchForm, SurveyForm
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
from omni.exceptions import DomainError
from omni.views import StaffScreenMixin

CUSTOMER_SCREENS = (roles.STORE_SCREENS, roles.SERVICE_SCREENS)
HISTORY_SHOWN = 20
CONTACTS_SHOWN = 20


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
        context.update(
            form=form,
            results=results,
            truncated=results is not None and len(results) >= selectors.SEARCH_LIMIT,
        )
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
        context["loyalty"] = loyalty.loyalty_summary(customer=customer)
        context["contacts"] = list(selectors.customer_contacts(customer=customer)[:CONTACTS_SHOWN])
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


# --- Service contacts ----------------------------------------------------------------------------
class ServiceScreenMixin(StaffScreenMixin):
    permission_required = roles.SERVICE_SCREENS


class ContactLogView(ServiceScreenMixin, FormView):
    """Log a chat, a call, an email or a visit from the customer's page, through contact_log."""

    template_name = "customers/contact_form.html"
    form_class = ContactLogForm

    @cached_property
    def customer(self) -> Customer:
        # Read after the permission check (not in dispatch): no 404 probing before the login.
        return get_object_or_404(Customer.objects.live(), pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        conversations = selectors.open_conversations(customer=self.customer)
        return {**super().get_form_kwargs(), "conversations": conversations}

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)

    def form_valid(self, form: ContactLogForm) -> HttpResponse:
        try:
            services.contact_log(
                customer=self.customer, agent=self.request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        except DomainError as exc:
            form.add_error(None, exc.detail)
            return self.form_invalid(form)
        messages.success(self.request, _("Contact logged."))
        return redirect("customers:detail", pk=self.customer.pk)


class ContactReportView(ServiceScreenMixin, TemplateView):
    """Contacts by reason and channel over a period: where the recurring problems are."""

    template_name = "customers/contact_report.html"
    default_days = 30

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        initial = {"since": today - timedelta(days=self.default_days - 1), "until": today}
        form = ContactReportForm(self.request.GET or initial)
        rows = []
        if form.is_valid():
            since, until = form.cleaned_data["since"], form.cleaned_data["until"]
            rows = selectors.contacts_report(
                since=_start_of(since), until=_start_of(until + timedelta(days=1))
            )
        context.update(form=form, rows=rows, total=sum(row.count for row in rows))
        return context


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Satisfaction survey (customers, no login) ----------------------------------------------------
class SurveyView(View):
    """GET shows the 1-5 choice; POST records the answer once. The signed token is the only
    credential: a forged or expired one answers 400, an answered survey 409, nothing written."""

    template_name = "customers/survey.html"

    def _read(self, request: HttpRequest, token: str):
        try:
            link = satisfaction.read_survey_token(token)
        except signing.SignatureExpired:
            message = _("This survey link has expired. Thank you all the same!")
        except signing.BadSignature:
            message = _("This survey link is not valid. Check that it was copied whole.")
        else:
            if satisfaction.survey_answered(link=link):
                return None, self._answered(request)
            return link, None
        return None, render(request, self.template_name, {"error": message}, status=400)

    def _answered(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"already": True}, status=409)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        link, refused = self._read(request, token)
        if refused:
            return refused
        return render(request, self.template_name, {"form": SurveyForm(), "link": link})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        link, refused = self._read(request, token)
        if refused:
            return refused
        form = SurveyForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "link": link}, status=400)
        try:
            services.survey_answer_record(link=link, **form.cleaned_data)
        except services.SurveyAlreadyAnswered:
            return self._answered(request)
        except ValidationError as exc:
            context = {"error": " ".join(exc.messages)}
            return render(request, self.template_name, context, status=400)
        return render(request, self.template_name, {"done": True})


# --- The 360° view --------------------------------------------------------------------------------
from customers.customer360.page import customer360_context  # noqa: E402
from customers.models import AccessScreen  # noqa: E402


class Customer360View(CustomerScreenMixin, TemplateView):
    """Everything about a customer on one page, every read recorded in the access log.

    Store staff and service agents open it; marketers do not (403): they work on segments and
    aggregates, not on one person's history. Actions on orders show only at the viewer's stores.
    """

    template_name = "customers/360.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = get_object_or_404(
            Customer.objects.live().select_related("preferred_store"), pk=self.kwargs["pk"]
        )
        context.update(
            customer360_context(request=self.request, customer=customer, screen=AccessScreen.STAFF)
        )
        return context
