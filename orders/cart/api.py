"""The cart API: the signed-in customer's cart under /me/cart/, anonymous carts under /carts/.

Customer calls carry `Authorization: Customer <token>` (customers.auth) and only ever reach that
customer's cart; an anonymous cart's token, in the URL, is its only credential. The channel
(web or app) comes from the `X-Omni-Channel` header. Every answer that shows a cart shows it
whole, with live availability, so the site can redraw it from one response.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.auth import CustomerTokenAuthentication, IsCustomer, request_customer
from customers.models import Channel
from inventory.models import Location, LocationKind
from inventory.selectors import sellable_variants
from omni.api import LookupField
from orders import services
from orders.cart.selectors import cart_for_token, cart_to_merge, cart_view
from orders.models import Cart
from orders.services import cart_merge

CHANNEL_HEADER = "X-Omni-Channel"
API_CHANNELS = (Channel.WEB, Channel.APP)

CHANNEL_PARAMETER = OpenApiParameter(
    CHANNEL_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    enum=[channel.value for channel in API_CHANNELS],
    description="Where the shopper acts: web (default) or app.",
)
STORE_PARAMETER = OpenApiParameter(
    "store",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="Code of a store: each line then shows what can be collected there.",
)


def request_channel(request: Request) -> str:
    """The channel named by the X-Omni-Channel header (web when absent); 400 if unknown."""
    value = request.headers.get(CHANNEL_HEADER, Channel.WEB).strip().lower()
    if value not in API_CHANNELS:
        raise serializers.ValidationError(
            {CHANNEL_HEADER: [_("Must be one of: web, app.")]}, code="invalid"
        )
    return value


def request_store(request: Request) -> Location | None:
    """The store named by ?store=<code>, if any; 400 if it is not an active store."""
    code = request.query_params.get("store")
    if not code:
        return None
    store = Location.objects.filter(code=code, kind=LocationKind.STORE, is_active=True).first()
    if store is None:
        raise serializers.ValidationError({"store": [_("No open store has this code.")]})
    return store


class CartLineOutput(serializers.Serializer):
    id = serializers.IntegerField(source="line.pk")
    sku = serializers.CharField(source="line.variant.sku")
    name = serializers.CharField(source="line.variant.name")
    product = serializers.CharField(source="line.variant.product.name")
    quantity = serializers.IntegerField(source="line.quantity")
    unit_price_seen = serializers.DecimalField(
        source="line.unit_price_seen", max_digits=10, decimal_places=2
    )
    current_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    price_changed = serializers.BooleanField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="line.currency")
    added_channel = serializers.CharField(source="line.added_channel")
    delivery_available = serializers.IntegerField()
    deliverable = serializers.BooleanField()
    pickup_available = serializers.IntegerField(allow_null=True)


class CartOutput(serializers.Serializer):
    status = serializers.CharField(source="cart.status")
    channel = serializers.CharField(source="cart.channel")
    store = serializers.CharField(source="store.code", allow_null=True, default=None)
    lines = CartLineOutput(many=True)
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    has_price_changes = serializers.BooleanField()
    last_activity_at = serializers.DateTimeField(source="cart.last_activity_at")


class AnonymousCartOutput(CartOutput):
    token = serializers.CharField(source="cart.token")


class LineAddInput(serializers.Serializer):
    sku = LookupField(
        slug_field="sku",
        queryset=sellable_variants().select_related("product"),
        error_messages={"does_not_exist": _("No article with this SKU is on sale.")},
    )
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY)


class QuantityInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY)


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _CartApi(APIView):
    """Shared by every cart endpoint: how the cart is found, how it is shown."""

    output_class: type[serializers.Serializer] = CartOutput

    def get_cart(self, request: Request, **kwargs) -> Cart:
        raise NotImplementedError

    def show(self, cart: Cart, *, store: Location | None, status: int = 200) -> Response:
        view = cart_view(cart=cart, store=store)
        return Response(self.output_class(view).data, status=status)


class _CustomerCartApi(_CartApi):
    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsCustomer]

    def get_cart(self, request: Request, **kwargs) -> Cart:
        return services.cart_for_customer(
            customer=request_customer(request), channel=request_channel(request)
        )


class _AnonymousCartApi(_CartApi):
    # The token in the URL is the credential: no session, hence no CSRF, no other identity.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    output_class = AnonymousCartOutput

    def get_cart(self, request: Request, **kwargs) -> Cart:
        return cart_for_token(token=kwargs["token"])


class _CartShowMixin:
    @extend_schema(parameters=[CHANNEL_PARAMETER, STORE_PARAMETER])
    def get(self, request: Request, **kwargs) -> Response:
        store = request_store(request)
        return self.show(self.get_cart(request, **kwargs), store=store)


class _LineAddMixin:
    @extend_schema(parameters=[CHANNEL_PARAMETER, STORE_PARAMETER], request=LineAddInput)
    def post(self, request: Request, **kwargs) -> Response:
        channel, store = request_channel(request), request_store(request)
        data = _validated(LineAddInput, request)
        cart = self.get_cart(request, **kwargs)
        services.cart_add_line(
            cart=cart, variant=data["sku"], quantity=data["quantity"], channel=channel
        )
        return self.show(cart, store=store, status=201)


class _LineChangeMixin:
    @extend_schema(parameters=[CHANNEL_PARAMETER, STORE_PARAMETER], request=QuantityInput)
    def patch(self, request: Request, line_id: int, **kwargs) -> Response:
        channel, store = request_channel(request), request_store(request)
        data = _validated(QuantityInput, request)
        cart = self.get_cart(request, **kwargs)
        services.cart_set_quantity(
            cart=cart, line_id=line_id, quantity=data["quantity"], channel=channel
        )
        return self.show(cart, store=store)

    @extend_schema(parameters=[CHANNEL_PARAMETER, STORE_PARAMETER], request=None)
    def delete(self, request: Request, line_id: int, **kwargs) -> Response:
        channel, store = request_channel(request), request_store(request)
        cart = self.get_cart(request, **kwargs)
        services.cart_remove_line(cart=cart, line_id=line_id, channel=channel)
        return self.show(cart, store=store)


@extend_schema(tags=["cart"], responses=CartOutput)
class MyCartApi(_CartShowMixin, _CustomerCartApi):
    """The signed-in customer's cart, the same on the web, in the app and in store."""


@extend_schema(tags=["cart"], responses=CartOutput)
class MyCartLineAddApi(_LineAddMixin, _CustomerCartApi):
    """Add an article to the customer's cart (an article already there gets the units added)."""


@extend_schema(tags=["cart"], responses=CartOutput)
class MyCartLineApi(_LineChangeMixin, _CustomerCartApi):
    """Change the quantity of a line of the customer's cart, or remove it."""


class MergedLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units brought over from the anonymous cart.")
    quantity_before = serializers.IntegerField()
    quantity_after = serializers.IntegerField()
    origin_channel = serializers.CharField()


class MyCartMergeApi(_CustomerCartApi):
    """At login: merge the visitor's anonymous cart into the customer's cart.

    Quantities are added, one line per article, nothing is lost; the answer lists what was
    brought over so the site can tell the shopper. A retry with the same token answers 200 with
    `already_merged: true` and changes nothing. Refused (409) when the customer's checkout has
    started, or when the cart was merged into another customer's cart.
    """

    error_statuses = {404: _("No anonymous cart has this token.")}

    @extend_schema_serializer(component_name="CartMergeInput")
    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=64, help_text="The anonymous cart's token.")

    @extend_schema_serializer(component_name="CartMergeOutput")
    class OutputSerializer(serializers.Serializer):
        merged = MergedLineOutput(many=True)
        already_merged = serializers.BooleanField()
        cart = CartOutput()

    @extend_schema(
        tags=["cart"],
        parameters=[CHANNEL_PARAMETER, STORE_PARAMETER],
        request=InputSerializer,
        responses=OutputSerializer,
    )
    def post(self, request: Request) -> Response:
        channel, store = request_channel(request), request_store(request)
        data = _validated(self.InputSerializer, request)
        source = cart_to_merge(token=data["token"])
        target = self.get_cart(request)
        report = cart_merge(source=source, target=target, channel=channel)
        view = cart_view(cart=target, store=store)
        output = {"merged": report.lines, "already_merged": report.already_merged, "cart": view}
        return Response(self.OutputSerializer(output).data)


class AnonymousCartCreateApi(_AnonymousCartApi):
    """Start a cart for a visitor who has not signed in; keep its token to reach it again."""

    @extend_schema(
        tags=["cart"],
        parameters=[CHANNEL_PARAMETER, STORE_PARAMETER],
        request=None,
        responses={201: AnonymousCartOutput},
    )
    def post(self, request: Request) -> Response:
        channel, store = request_channel(request), request_store(request)
        cart = services.cart_create_anonymous(channel=channel)
        return self.show(cart, store=store, status=201)


@extend_schema(tags=["cart"], responses=AnonymousCartOutput)
class AnonymousCartApi(_CartShowMixin, _AnonymousCartApi):
    """An anonymous cart, by its token."""


@extend_schema(tags=["cart"], responses=AnonymousCartOutput)
class AnonymousCartLineAddApi(_LineAddMixin, _AnonymousCartApi):
    """Add an article to an anonymous cart."""


@extend_schema(tags=["cart"], responses=AnonymousCartOutput)
class AnonymousCartLineApi(_LineChangeMixin, _AnonymousCartApi):
    """Change the quantity of a line of an anonymous cart, or remove it."""
