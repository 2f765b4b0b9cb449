"""Campaigns screens: tracking links for customers (pixel, click, unsubscribe), the providers'
delivery webhook, and the results pages for marketers."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from campaigns import channel_mix, results, services, tracking
from campaigns.models import Campaign, Message
from customers.models import ContactChannel
from omni import roles
from omni.exceptions import DomainError
from omni.views import StaffScreenMixin

# The smallest transparent GIF (1x1).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# --- for customers, from a message: the signed token is the only credential ---------------------


@method_decorator(never_cache, name="dispatch")
class TrackOpenView(View):
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            message_id = tracking.read_open_token(token)
        except signing.BadSignature:
            return HttpResponse(PIXEL, content_type="image/gif", status=400)
        services.message_open(message_id=message_id)
        return HttpResponse(PIXEL, content_type="image/gif")


@method_decorator(never_cache, name="dispatch")
class TrackClickView(View):
    """Redirects only to the URL signed into the token: never an open redirect."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = tracking.read_click_token(token)
        except signing.BadSignature:
            return render(
                request,
                "campaigns/link_invalid.html",
                {"error": _("This link is not valid. Check that it was copied whole.")},
                status=400,
            )
        services.message_click(message_id=link.message_id, url=link.url)
        return HttpResponseRedirect(link.url)


@method_decorator(csrf_exempt, name="dispatch")  # mail clients POST List-Unsubscribe=One-Click
class UnsubscribeView(View):
    """GET confirms, POST withdraws consent on the message's channel at once."""

    template_name = "customers/unsubscribe.html"

    def _message(self, request: HttpRequest, token: str) -> tuple[Message | None, HttpResponse]:
        try:
            message_id = tracking.read_unsubscribe_token(token)
        except signing.BadSignature:
            error = _("This unsubscribe link is not valid. Check that it was copied whole.")
            return None, render(request, self.template_name, {"error": error}, status=400)
        message = get_object_or_404(Message.objects.exclude(channel=""), pk=message_id)
        return message, None

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        message, error = self._message(request, token)
        if error:
            return error
        channel = ContactChannel(message.channel).label
        return render(request, self.template_name, {"channel": channel})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        message, error = self._message(request, token)
        if error:
            return error
        services.message_unsubscribe(message_id=message.pk)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(_("Unsubscribed."), content_type="text/plain")
        channel = ContactChannel(message.channel).label
        return render(request, self.template_name, {"done": True, "channel": channel})


@method_decorator(csrf_exempt, name="dispatch")
class DeliveryReportView(View):
    """Providers' webhook: POST {"provider_id" or "key", "status", "at"?, "detail"?} with
    `Authorization: Bearer <OMNI_TRACKING_WEBHOOK_TOKEN>`."""

    def post(self, request: HttpRequest) -> JsonResponse:
        expected = settings.OMNI_TRACKING_WEBHOOK_TOKEN
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"code": "forbidden"}, status=403)
        try:
            data = json.loads(request.body or b"{}")
            at = parse_datetime(data["at"]) if data.get("at") else None
        except (ValueError, TypeError):
            return JsonResponse({"code": "invalid", "detail": _("Expected JSON.")}, status=400)
        if not isinstance(data, dict) or (data.get("at") and at is None):
            return JsonResponse({"code": "invalid", "detail": _("Expected JSON.")}, status=400)
        try:
            event = services.message_delivery_report(
                status=str(data.get("status", "")),
                provider_id=str(data.get("provider_id", ""))[:100],
                idempotency_key=str(data.get("key", ""))[:120],
                at=at if at is None or at.tzinfo else at.replace(tzinfo=dt.UTC),
                detail=str(data.get("detail", "")),
            )
        except DomainError as exc:
            return JsonResponse(exc.as_dict(), status=exc.status_code)
        return JsonResponse({"recorded": event is not None})


# --- results, for marketers --------------------------------------------------------------------

BAR_WIDTH = 260
BAR_HEIGHT = 22


def bar_chart(title: str, items: list[tuple[str, float, str]]) -> dict:
    """An inline SVG bar chart's geometry: (label, value, text shown) per bar, scaled to the
    largest value. The template draws it; the same figures are in the table below it."""
    largest = max((value for _label, value, _text in items), default=0) or 1
    bars = [
        {
            "label": label,
            "text": text,
            "y": index * (BAR_HEIGHT + 6),
            "text_y": index * (BAR_HEIGHT + 6) + 16,
            "width": round(BAR_WIDTH * value / largest, 1),
            "text_x": round(BAR_WIDTH * value / largest, 1) + 130,
        }
        for index, (label, value, text) in enumerate(items)
    ]
    return {"title": title, "bars": bars, "height": max(len(bars), 1) * (BAR_HEIGHT + 6)}


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


class MarketingScreenMixin(StaffScreenMixin):
    permission_required = roles.MARKETING_SCREENS


class ResultsView(MarketingScreenMixin, TemplateView):
    """Campaigns compared: by channel mix (1, 2, 3+), and the latest campaigns' figures."""

    template_name = "campaigns/results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mix = channel_mix.channel_mix()
        label = gettext_lazy("%(count)s channel(s)")
        names = [label % {"count": group.label} for group in mix]
        context.update(
            mix=list(zip(names, mix, strict=True)),
            campaigns=results.campaigns_overview(),
            charts=[
                bar_chart(
                    _("Engagement rate"),
                    [
                        (n, g.engagement_rate, _percent(g.engagement_rate))
                        for n, g in zip(names, mix, strict=True)
                    ],
                ),
                bar_chart(
                    _("Purchase rate"),
                    [
                        (n, g.purchase_rate, _percent(g.purchase_rate))
                        for n, g in zip(names, mix, strict=True)
                    ],
                ),
                bar_chart(
                    _("Average order value"),
                    [
                        (n, float(g.average_order_value), str(g.average_order_value))
                        for n, g in zip(names, mix, strict=True)
                    ],
                ),
                bar_chart(
                    _("90-day retention"),
                    [
                        (n, g.retention_rate, _percent(g.retention_rate))
                        for n, g in zip(names, mix, strict=True)
                    ],
                ),
            ],
        )
        return context


class CampaignResultsView(MarketingScreenMixin, TemplateView):
    """One campaign: figures per variant, revenue, and the lift over its holdout."""

    template_name = "campaigns/campaign_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = get_object_or_404(Campaign, pk=self.kwargs["pk"])
        figures = results.campaign_results(campaign=campaign)
        rows = [*figures.variants, figures.total]
        context.update(
            campaign=campaign,
            figures=figures,
            lift=results.holdout_lift(campaign=campaign),
            charts=[
                bar_chart(
                    _("Open, click and conversion rates"),
                    [
                        (f"{row.label} · {name}", rate, _percent(rate))
                        for row in figures.variants
                        for name, rate in (
                            (_("opened"), row.open_rate),
                            (_("clicked"), row.click_rate),
                            (_("converted"), row.conversion_rate),
                        )
                    ],
                ),
                bar_chart(
                    _("Revenue (last touch)"),
                    [(row.label, float(row.revenue), str(row.revenue)) for row in rows],
                ),
            ],
        )
        return context
