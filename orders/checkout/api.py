"""The checkout and order-tracking API of the signed-in customer (`Authorization: Customer ...`).

`POST /me/checkout/` requires an `Idempotency-Key` header: the view parses the request and calls
`orders.services.order_checkout_idempotent`, which claims the key (`CheckoutRequest`, unique per
customer and key), places the order and stores this view's rendering of it in one transaction. A
concurrent request with the same key blocks on the key until the first one commits, then
replays the stored answer (same status, same body). The same key with another body is refused
(422 `idempotency_key_reused`). A refused checkout (out of stock, bad payment...) writes nothing,
not even the key: the shopper may fix her cart and try again.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.auth import CustomerTokenAuthentication, IsCustomer, request_customer
from customers.models import Customer
from inventory.geo import point_for_postal_code
from inventory.models import Location, LocationKind
from omni.api import LookupField, Pagination
from orders import services
from orders.cart.api import CHANNEL_PARAMETER, request_channel
from orders.cart.selectors import open_cart_of
from orders.checkout.selectors import customer_order, customer_orders, pickup_options
from orders.checkout.types import DeliveryChoice, PaymentInfo, PickupChoice, ShippingAddress
from orders.models import Order, PaymentStatus

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="A key the site makes for this checkout attempt (e.g. a UUID): retrying with "
    "the same key and body replays the same answer, and never creates a second order.",
)


# --- output ------------------------------------------------------------------------------------


class PlaceOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()


class OrderLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What a discount code took off the line."
    )


class FulfilmentLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()


class FulfilmentOutput(serializers.Serializer):
    reference = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    location = PlaceOutput()
    pickup_code = serializers.CharField()
    promised_ready_at = serializers.DateTimeField(allow_null=True)
    pickup_deadline = serializers.DateTimeField(allow_null=True)
    ready_at = serializers.DateTimeField(allow_null=True)
    collected_at = serializers.DateTimeField(allow_null=True)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class FulfilmentDetailOutput(FulfilmentOutput):
    lines = FulfilmentLineOutput(many=True)


class ReturnLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()


class ReturnOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    store = serializers.CharField(source="location.name")
    reason = serializers.CharField()
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = ReturnLineOutput(many=True)


class AddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, default="")
    postal_code = serializers.RegexField(r"^[0-9A-Za-z -]{3,10}$", max_length=10)
    city = serializers.CharField(max_length=100)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, default="FR")
    phone = serializers.CharField(max_length=16, required=False, default="")


class DiscountOutput(serializers.Serializer):
    code = serializers.CharField(source="discount_code")
    label = serializers.CharField(source="discount_label")
    amount = serializers.DecimalField(source="code_discount", max_digits=12, decimal_places=2)


class OrderSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    placed_at = serializers.DateTimeField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    fulfilments = FulfilmentOutput(many=True)


class OrderOutput(OrderSummaryOutput):
    """The one tracking view of an order: its lines, every fulfilment, its returns."""

    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.SerializerMethodField(
        help_text="The discount code that paid part of the lines (already off `subtotal`)."
    )
    shipping_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_address = serializers.SerializerMethodField()
    vat_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = OrderLineOutput(many=True)
    fulfilments = FulfilmentDetailOutput(many=True)
    returns = ReturnOutput(many=True)

    @extend_schema_field(DiscountOutput(allow_null=True))
    def get_discount(self, order: Order) -> dict[str, str] | None:
        if not order.discount_code:
            return None
        return DiscountOutput(order).data

    @extend_schema_field(AddressInput(allow_null=True))
    def get_shipping_address(self, order: Order) -> dict[str, str] | None:
        if not order.ship_to_line1:
            return None
        fields = ("name", "line1", "line2", "postal_code", "city", "country", "phone")
        return {name: getattr(order, f"ship_to_{name}") for name in fields}


def _order_data(customer: Customer, number: str) -> dict:
    order = customer_order(customer=customer, number=number)
    if order is None:
        raise NotFound(_("No such order."))
    return OrderOutput(order).data


def _own_order(request: Request, number: str) -> Order:
    order = Order.objects.filter(customer=request_customer(request), number=number).first()
    if order is None:
        raise NotFound(_("No such order."))
    return order


class _CustomerApi(APIView):
    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsCustomer]


# --- checkout ----------------------------------------------------------------------------------


class FulfilmentInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["delivery", "pickup"])
    address = AddressInput(required=False, help_text="Delivery address (required for delivery).")
    store = LookupField(
        slug_field="code",
        queryset=Location.objects.filter(kind=LocationKind.STORE, is_active=True),
        required=False,
        help_text="Code of the pickup store (required for a pickup).",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["type"] == "pickup" and attrs.get("store") is None:
            raise serializers.ValidationError({"store": [_("Choose the pickup store.")]})
        if attrs["type"] == "delivery" and attrs.get("address") is None:
            raise serializers.ValidationError({"address": [_("Give the delivery address.")]})
        return attrs


class PaymentInput(serializers.Serializer):
    provider = serializers.CharField(max_length=40)
    reference = serializers.CharField(max_length=100)
    status = serializers.ChoiceField(
        choices=[PaymentStatus.AUTHORISED.value, PaymentStatus.CAPTURED.value]
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CheckoutApi(_CustomerApi):
    """Order the customer's cart: home delivery or click-and-collect at a store.

    The payment is the one the site took (authorised or captured), recorded as reported; its
    amount must be the order total, less the value of the `loyalty_points` she uses. Errors: 400
    `empty_cart`, `service_not_offered`, `payment_amount_mismatch`, `points_exceed_total`,
    `invalid_discount_code` (on `discount_code`: unknown, expired, used, another customer's),
    `invalid` (fields); 409 `insufficient_stock` (the SKUs named), `insufficient_points`,
    `cart_not_editable`; 422 `idempotency_key_reused`.
    """

    error_statuses = {422: _("This Idempotency-Key was used with another body.")}

    class InputSerializer(serializers.Serializer):
        fulfilment = FulfilmentInput()
        payment = PaymentInput()
        loyalty_points = serializers.IntegerField(
            min_value=0,
            required=False,
            default=0,
            help_text="Loyalty points she uses to pay: their value comes off the total.",
        )
        discount_code = serializers.CharField(
            max_length=40,
            required=False,
            allow_blank=True,
            default="",
            help_text="A discount code of hers (e.g. from a campaign): it comes off the lines.",
        )

    @extend_schema(
        tags=["orders"],
        parameters=[IDEMPOTENCY_PARAMETER, CHANNEL_PARAMETER],
        request=InputSerializer,
        responses={201: OrderOutput},
    )
    def post(self, request: Request) -> Response:
        key = services.checkout_key(request.headers.get(IDEMPOTENCY_HEADER))
        customer = request_customer(request)
        channel = request_channel(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        choice = (
            PickupChoice(store=data["fulfilment"]["store"])
            if data["fulfilment"]["type"] == "pickup"
            else DeliveryChoice(address=ShippingAddress(**data["fulfilment"]["address"]))
        )
        answer = services.order_checkout_idempotent(
            scope=f"customer:{customer.pk}",
            key=key,
            request={"channel": channel, "body": request.data},
            render=lambda order: OrderOutput().to_representation(order),
            customer=customer,  # her open cart, found and closed in one statement
            channel=channel,
            fulfilment=choice,
            payment=PaymentInfo(**data["payment"]),
            loyalty_points=data["loyalty_points"],
            discount_code=data["discount_code"],
        )
        return Response(answer.data, status=answer.status)


# --- the customer's orders ---------------------------------------------------------------------


class MyOrdersApi(_CustomerApi):
    """The customer's orders from every channel (web, app, store, phone), newest first."""

    @extend_schema(tags=["orders"], responses=OrderSummaryOutput(many=True))
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            customer_orders(customer=request_customer(request)), request, view=self
        )
        return paginator.get_paginated_response(OrderSummaryOutput(page, many=True).data)


class MyOrderApi(_CustomerApi):
    """One order: lines, every fulfilment with its status, pickup store and code, carrier and
    tracking number, and its returns."""

    @extend_schema(tags=["orders"], responses=OrderOutput)
    def get(self, request: Request, number: str) -> Response:
        return Response(_order_data(request_customer(request), number))


class MyOrderCancelApi(_CustomerApi):
    """Cancel the order while nothing has been collected, shipped or sold; the stock goes back."""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(tags=["orders"], request=InputSerializer, responses=OrderOutput)
    def post(self, request: Request, number: str) -> Response:
        order = _own_order(request, number)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_cancel(order=order, reason=serializer.validated_data.get("reason", ""))
        return Response(_order_data(request_customer(request), number))


class MyPickupOptionsApi(_CustomerApi):
    """Which stores can hand the customer's cart over, and when (today from the shelf, or later
    after a transfer). Nearest first from ?postal_code= (default: hers)."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        city = serializers.CharField()
        ready_at = serializers.DateTimeField()
        ready_today = serializers.BooleanField()
        needs_transfer = serializers.BooleanField()
        distance_km = serializers.FloatField(allow_null=True)

    @extend_schema(
        tags=["orders"],
        parameters=[
            OpenApiParameter("postal_code", OpenApiTypes.STR, OpenApiParameter.QUERY),
            CHANNEL_PARAMETER,
        ],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        customer = request_customer(request)
        cart = open_cart_of(customer=customer)
        if cart is None:
            return Response([])
        postal_code = request.query_params.get("postal_code") or customer.postal_code or ""
        options = pickup_options(cart=cart, origin=point_for_postal_code(postal_code))
        return Response(self.OutputSerializer(options, many=True).data)
