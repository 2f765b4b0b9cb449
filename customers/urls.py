"""URLs of the customers staff screens; the API's are in customers/api.py."""

from django.urls import path

from customers import views

app_name = "customers"

# Staff screens, included at the site root under the "customers" namespace.
urlpatterns: list = [
    path("customers/", views.CustomerSearchView.as_view(), name="search"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path(
        "service/customers/<int:pk>/contacts/new/",
        views.ContactLogView.as_view(),
        name="contact-log",
    ),
    path("service/contacts/report/", views.ContactReportView.as_view(), name="contact-report"),
    # For customers, from a message: no login, the signed token is the credential.
    path("unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("survey/<str:token>/", views.SurveyView.as_view(), name="survey"),
    path("customers/<int:pk>/360/", views.Customer360View.as_view(), name="customer-360"),
]
