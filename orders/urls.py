"""URLs of the orders staff screens; the API's are in orders/api.py."""

from django.urls import path

from orders import views

app_name = "orders"

CART = "store/customers/<int:customer_id>/cart/"

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
]
