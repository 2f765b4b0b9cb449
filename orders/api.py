"""The orders API: one APIView per operation (see ../shared/STYLE.md)."""

from django.urls import path

from orders.cart import api as cart

# Mounted under /api/v1/ by omni/urls.py; names listed in API_ROOT appear in the API root.
urlpatterns: list = [
    path("me/cart/", cart.MyCartApi.as_view(), name="my-cart"),
    path("me/cart/lines/", cart.MyCartLineAddApi.as_view(), name="my-cart-lines"),
    path("me/cart/lines/<int:line_id>/", cart.MyCartLineApi.as_view(), name="my-cart-line"),
    path("me/cart/merge/", cart.MyCartMergeApi.as_view(), name="my-cart-merge"),
    path("carts/", cart.AnonymousCartCreateApi.as_view(), name="carts"),
    path("carts/<str:token>/", cart.AnonymousCartApi.as_view(), name="cart"),
    path("carts/<str:token>/lines/", cart.AnonymousCartLineAddApi.as_view(), name="cart-lines"),
    path(
        "carts/<str:token>/lines/<int:line_id>/",
        cart.AnonymousCartLineApi.as_view(),
        name="cart-line",
    ),
]
API_ROOT: dict[str, str] = {"my-cart": "my-cart", "carts": "carts"}
