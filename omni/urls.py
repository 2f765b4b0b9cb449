from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from omni import views
from omni.api_root import ApiRoot

# name shown in the API root -> URL name inside the versioned namespace. Apps add theirs.
API_V1_ROOT_LINKS: dict[str, str] = {}

api_v1_patterns = [
    path("", ApiRoot.as_view(), name="api-root"),
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
    path("api/v1/", include((api_v1_patterns, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
