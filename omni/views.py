"""Project-level screens: the staff home per role, area landing pages, and the health check."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.generic import TemplateView

from omni import roles
from omni.celery import app as celery_app
from omni.navigation import screens_for


class StaffScreenMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Staff screens: anonymous users go to the login page, users without the permission get 403."""

    permission_required: str | tuple[str, ...] = ()

    def has_permission(self) -> bool:
        required = self.get_permission_required()
        return self.request.user.has_perms(required)


class HomeView(StaffScreenMixin, TemplateView):
    template_name = "omni/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        names = set(user.groups.values_list("name", flat=True))
        context["roles"] = [role for role in roles.ROLES if role.name in names]
        return context


class AreaView(StaffScreenMixin, TemplateView):
    """The landing page of one area of the staff screens, listing what it holds."""

    template_name = "omni/area.html"
    area = ""
    title = ""
    intro = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title, intro=self.intro, screens=screens_for(self.request.user, self.area)
        )
        return context


class StoreHomeView(AreaView):
    area = "store-home"
    permission_required = roles.STORE_SCREENS
    title = _("Store")
    intro = _("Customers, carts, stock, pickups and the till for your store.")


class ServiceHomeView(AreaView):
    area = "service-home"
    permission_required = roles.SERVICE_SCREENS
    title = _("Customer service")
    intro = _("Find a customer, see her whole history and log your contacts.")


class MarketingHomeView(AreaView):
    area = "marketing-home"
    permission_required = roles.MARKETING_SCREENS
    title = _("Marketing")
    intro = _("Segments, campaigns, automations and their results.")


class DashboardHomeView(AreaView):
    area = "dashboard-home"
    permission_required = roles.DASHBOARD
    title = _("Dashboard")
    intro = _("Satisfaction, retention, lifetime value and revenue by channel.")


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "down": report it, do not raise
        return f"down: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any failure means "down": report it, do not raise
        return f"down: {exc.__class__.__name__}"
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise; JSON says which is down."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )


# --- errors: JSON under /api/, Django's pages elsewhere -----------------------------------------
#
# DRF answers the errors its views raise; these answer the rest under /api/ (an unknown path, an
# error outside a view) in the API's shape, {"code", "detail"}, so a client never has to parse
# an HTML page.


def _api_error(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse | None:
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse({"code": code, "detail": str(detail)}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    answer = _api_error(request, 400, "bad_request", _("The request could not be read."))
    return answer or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    detail = _("You do not have permission to perform this action.")
    answer = _api_error(request, 403, "permission_denied", detail)
    return answer or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    answer = _api_error(request, 404, "not_found", _("There is no such resource in the API."))
    return answer or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    detail = _("Omni could not answer this request; the error is logged. Try again later.")
    answer = _api_error(request, 500, "server_error", detail)
    return answer or defaults.server_error(request)
