"""URLs of the campaigns screens and tracking links; the API's are in campaigns/api.py."""

from django.urls import path

from campaigns import views, views_marketing

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
    path("marketing/segments/", views_marketing.SegmentListView.as_view(), name="segment-list"),
    path(
        "marketing/segments/new/", views_marketing.SegmentEditView.as_view(), name="segment-create"
    ),
    path(
        "marketing/segments/count/",
        views_marketing.SegmentCountView.as_view(),
        name="segment-count",
    ),
    path(
        "marketing/segments/<int:pk>/",
        views_marketing.SegmentEditView.as_view(),
        name="segment-edit",
    ),
    path("marketing/campaigns/", views_marketing.CampaignListView.as_view(), name="campaign-list"),
    path(
        "marketing/campaigns/new/",
        views_marketing.CampaignCreateView.as_view(),
        name="campaign-create",
    ),
    path(
        "marketing/campaigns/preview/",
        views_marketing.CampaignPreviewView.as_view(),
        name="campaign-preview",
    ),
    path(
        "marketing/campaigns/test-send/",
        views_marketing.CampaignTestSendView.as_view(),
        name="campaign-test-send",
    ),
    path(
        "marketing/campaigns/<int:pk>/",
        views_marketing.CampaignDetailView.as_view(),
        name="campaign-detail",
    ),
    path(
        "marketing/campaigns/<int:pk>/progress/",
        views_marketing.CampaignProgressView.as_view(),
        name="campaign-progress",
    ),
    path(
        "marketing/campaigns/<int:pk>/launch/",
        views_marketing.CampaignLaunchView.as_view(),
        name="campaign-launch",
    ),
    path(
        "marketing/campaigns/<int:pk>/cancel/",
        views_marketing.CampaignCancelView.as_view(),
        name="campaign-cancel",
    ),
    path("marketing/results/", views.ResultsView.as_view(), name="results"),
    path(
        "marketing/campaigns/<int:pk>/results/",
        views.CampaignResultsView.as_view(),
        name="campaign-results",
    ),
]
