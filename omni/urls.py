from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import campaigns.api
import customers.api
import inventory.api
import orders.api
from omni import views
from omni.api_root import ApiRoot, PingApi

APPS = (inventory.api, customers.api, orders.api, campaigns.api)

# name shown in the API root -> URL name inside the versioned namespace, from every app.
API_V1_ROOT_LINKS: dict[str, str] = {
    name: route for module in APPS for name, route in module.API_ROOT.items()
}

api_v1_patterns = [
    path("", ApiRoot.as_view(), name="api-root"),
    path("ping/", PingApi.as_view(), name="ping"),
    *(pattern for module in APPS for pattern in module.urlpatterns),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("store/", views.StoreHomeView.as_view(), name="store-home"),
    path("service/", views.ServiceHomeView.as_view(), name="service-home"),
    path("marketing/", views.MarketingHomeView.as_view(), name="marketing-home"),
    path("dashboard/", views.DashboardHomeView.as_view(), name="dashboard-home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("inventory.urls")),
    path("", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("campaigns.urls")),
    path("api/v1/", include((api_v1_patterns, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
