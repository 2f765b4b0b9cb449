"""URLs of the campaigns screens and tracking links; the API's are in campaigns/api.py."""

from django.urls import path

from campaigns import views

app_name = "campaigns"

# Included at the site root under the "campaigns" namespace.
urlpatterns: list = [
    # For customers, from a message: no login, the signed token is the credential. Keep them
    # under /t/ (campaigns.tracking leaves links there unwrapped).
    path("t/o/<str:token>.gif", views.TrackOpenView.as_view(), name="track-open"),
    path("t/c/<str:token>/", views.TrackClickView.as_view(), name="track-click"),
    path("t/u/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("t/report/", views.DeliveryReportView.as_view(), name="delivery-report"),
    # Marketers.
    path("marketing/results/", views.ResultsView.as_view(), name="results"),
    path(
        "marketing/campaigns/<int:pk>/results/",
        views.CampaignResultsView.as_view(),
        name="campaign-results",
    ),
]
