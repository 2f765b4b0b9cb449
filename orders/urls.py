"""URLs of the orders staff screens; the API's are in orders/api.py."""

from django.urls import path

from orders import views, views_dashboard
from orders.fulfilment import views as lifecycle

app_name = "orders"

CART = "store/customers/<int:customer_id>/cart/"
ORDER = "store/orders/<str:number>/"
TILL = "store/till/<int:cart_id>/"

# Staff screens, included at the site root under the "orders" namespace.
urlpatterns: list = [
    path(CART, views.CustomerCartView.as_view(), name="customer-cart"),
    path(f"{CART}lines/", views.CartLineAddView.as_view(), name="customer-cart-add"),
    path(
        f"{CART}lines/<int:line_id>/",
        views.CartLineQuantityView.as_view(),
        name="customer-cart-quantity",
    ),
    path(
        f"{CART}lines/<int:line_id>/remove/",
        views.CartLineRemoveView.as_view(),
        name="customer-cart-remove",
    ),
    path(f"{CART}send-link/", views.CartSendLinkView.as_view(), name="customer-cart-send-link"),
    path("store/pickups/", lifecycle.PickupQueueView.as_view(), name="pickup-queue"),
    path(ORDER, lifecycle.OrderDetailView.as_view(), name="order-detail"),
    path(f"{ORDER}cancel/", lifecycle.OrderCancelView.as_view(), name="order-cancel"),
    path(
        "store/fulfilments/<int:pk>/<slug:action>/",
        lifecycle.FulfilmentActionView.as_view(),
        name="fulfilment-action",
    ),
    path("store/returns/", views.ReturnsDeskView.as_view(), name="returns-desk"),
    path(f"{ORDER}return/", views.ReturnCreateView.as_view(), name="return-create"),
    path("store/till/", views.TillStartView.as_view(), name="till"),
    path(TILL, views.TillCartView.as_view(), name="till-cart"),
    path(f"{TILL}lines/", views.TillLineView.as_view(), name="till-add"),
    path(f"{TILL}lines/<int:line_id>/", views.TillLineView.as_view(), name="till-quantity"),
    path(
        f"{TILL}lines/<int:line_id>/remove/",
        views.TillLineView.as_view(),
        {"remove": True},
        name="till-remove",
    ),
    path(f"{TILL}pay/", views.TillPayView.as_view(), name="till-pay"),
    path(
        "dashboard/management/", views_dashboard.ManagementDashboardView.as_view(), name="dashboard"
    ),
]
