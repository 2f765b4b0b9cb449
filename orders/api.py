"""The orders API: one APIView per operation (see docs/architecture.md)."""

from django.urls import path

from orders.cart import api as cart
from orders.checkout import api as checkout

# Mounted under /api/v1/ by omni/urls.py; names listed in API_ROOT appear in the API root.
urlpatterns: list = [
    path("me/cart/", cart.MyCartApi.as_view(), name="my-cart"),
    path("me/cart/lines/", cart.MyCartLineAddApi.as_view(), name="my-cart-lines"),
    path("me/cart/lines/<int:line_id>/", cart.MyCartLineApi.as_view(), name="my-cart-line"),
    path("me/cart/merge/", cart.MyCartMergeApi.as_view(), name="my-cart-merge"),
    path(
        "me/cart/pickup-options/",
        checkout.MyPickupOptionsApi.as_view(),
        name="my-cart-pickup-options",
    ),
    path("me/checkout/", checkout.CheckoutApi.as_view(), name="my-checkout"),
    path("me/orders/", checkout.MyOrdersApi.as_view(), name="my-orders"),
    path("me/orders/<str:number>/", checkout.MyOrderApi.as_view(), name="my-order"),
    path(
        "me/orders/<str:number>/cancel/",
        checkout.MyOrderCancelApi.as_view(),
        name="my-order-cancel",
    ),
    path("carts/", cart.AnonymousCartCreateApi.as_view(), name="carts"),
    path("carts/<str:token>/", cart.AnonymousCartApi.as_view(), name="cart"),
    path("carts/<str:token>/lines/", cart.AnonymousCartLineAddApi.as_view(), name="cart-lines"),
    path(
        "carts/<str:token>/lines/<int:line_id>/",
        cart.AnonymousCartLineApi.as_view(),
        name="cart-line",
    ),
]
API_ROOT: dict[str, str] = {"my-cart": "my-cart", "carts": "carts", "my-orders": "my-orders"}
