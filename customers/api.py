"""The customers API: one APIView per operation (see docs/architecture.md).

Customer-scoped views (/me/...) accept only a customer token (customers/auth.py) and act on the
customer it names, never on an id taken from the request.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import loyalty, services
from customers.auth import (
    CustomerTokenAuthentication,
    IsCustomer,
    customer_token,
    request_customer,
    token_max_age,
)
from customers.models import (
    Channel,
    ConsentState,
    ContactChannel,
    Customer,
    Device,
    DevicePlatform,
    Gender,
    LoyaltyMovementKind,
    LoyaltyTier,
    OptInLevel,
)
from customers.models_devices import TOKEN_MAX_LENGTH, TOKEN_PATTERN
from inventory.models import Location, LocationKind
from omni.api import LookupField

ISSUE_TOKEN = "customers.issue_customer_token"


class CanIssueCustomerTokens(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return bool(request.user and request.user.has_perm(ISSUE_TOKEN))


class CustomerApi(APIView):
    """Base of the /me/ views: a customer token and nothing else."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsCustomer]


class ProfileOutput(serializers.ModelSerializer):
    preferred_store = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "card_number",
            "birth_date",
            "gender",
            "postal_code",
            "preferred_store",
            "preferred_channel",
            "language",
            "created_channel",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerTokenApi(APIView):
    """Issue a customer token; only for the e-commerce site's service account."""

    permission_classes = [CanIssueCustomerTokens]
    error_statuses = {404: _("No live customer has this id or e-mail.")}

    class InputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(required=False)
        email = serializers.EmailField(required=False)

        def validate(self, attrs):
            if ("customer_id" in attrs) == ("email" in attrs):
                raise serializers.ValidationError(_("Give either customer_id or email."))
            return attrs

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        customer_id = serializers.IntegerField()
        expires_in = serializers.IntegerField(help_text=_("Seconds the token stays valid."))

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lookup = (
            Q(pk=data["customer_id"])
            if "customer_id" in data
            else Q(email_lower=data["email"].strip().lower())
        )
        live = Customer.objects.live().alias(email_lower=Lower("email"))
        customer = get_object_or_404(live, lookup)
        output = {
            "token": customer_token(customer=customer),
            "customer_id": customer.pk,
            "expires_in": token_max_age(),
        }
        return Response(self.OutputSerializer(output).data, status=201)


class MeApi(CustomerApi):
    """The signed-in customer's profile."""

    class InputSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
        phone = serializers.CharField(
            max_length=30, required=False, allow_null=True, allow_blank=True
        )
        card_number = serializers.CharField(
            max_length=20, required=False, allow_null=True, allow_blank=True
        )
        birth_date = serializers.DateField(required=False, allow_null=True)
        gender = serializers.ChoiceField(choices=Gender.choices, required=False)
        postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
        preferred_store = LookupField(
            slug_field="code",
            queryset=Location.objects.filter(kind=LocationKind.STORE, is_active=True),
            required=False,
            allow_null=True,
        )
        preferred_channel = serializers.ChoiceField(
            choices=ContactChannel.choices, required=False, allow_blank=True
        )
        language = serializers.ChoiceField(choices=["fr", "en"], required=False)

    @extend_schema(responses=ProfileOutput)
    def get(self, request: Request) -> Response:
        return Response(ProfileOutput(request_customer(request)).data)

    @extend_schema(request=InputSerializer, responses=ProfileOutput)
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=request_customer(request),
            changes=services.ProfileChanges(**serializer.validated_data),
        )
        return Response(ProfileOutput(customer).data)


class ConsentOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    granted = serializers.BooleanField()
    opt_in_level = serializers.CharField()
    reason = serializers.CharField(help_text=_("Do-not-contact reason, when withdrawn."))
    updated_at = serializers.DateTimeField(allow_null=True)


def consents_of(customer: Customer) -> list[dict]:
    """One entry per channel, channels never decided on included (not granted)."""
    states = {state.channel: state for state in ConsentState.objects.filter(customer=customer)}
    return [
        {
            "channel": channel,
            "granted": bool(state and state.granted),
            "opt_in_level": state.opt_in_level if state else "",
            "reason": state.reason if state else "",
            "updated_at": state.updated_at if state else None,
        }
        for channel in ContactChannel.values
        for state in [states.get(channel)]
    ]


class MeConsentsApi(CustomerApi):
    """The signed-in customer's consents: read them, grant or withdraw one channel."""

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=ContactChannel.choices)
        action = serializers.ChoiceField(choices=["grant", "withdraw"])
        opt_in_level = serializers.ChoiceField(
            choices=OptInLevel.choices, default=OptInLevel.SINGLE
        )
        source_channel = serializers.ChoiceField(
            choices=[Channel.WEB, Channel.APP], default=Channel.WEB
        )
        text_version = serializers.CharField(max_length=40, required=False, default="")

    @extend_schema(responses=ConsentOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(ConsentOutput(consents_of(request_customer(request)), many=True).data)

    @extend_schema(request=InputSerializer, responses=ConsentOutput(many=True))
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = request_customer(request)
        source = services.ConsentSource(
            channel=data["source_channel"],
            text_version=data["text_version"],
            evidence=request.META.get("REMOTE_ADDR", ""),
        )
        if data["action"] == "grant":
            services.consent_grant(
                customer=customer,
                channel=data["channel"],
                source=source,
                opt_in_level=data["opt_in_level"],
            )
        else:
            services.consent_withdraw(customer=customer, channel=data["channel"], source=source)
        return Response(ConsentOutput(consents_of(customer), many=True).data)


class LoyaltyMovementOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LoyaltyMovementKind.choices)
    points = serializers.IntegerField()
    reference = serializers.CharField(help_text=_("The order number, for a purchase or return."))
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()


class MeLoyaltyApi(CustomerApi):
    """The signed-in customer's points, tier and latest movements, from every channel."""

    class OutputSerializer(serializers.Serializer):
        balance = serializers.IntegerField()
        balance_value = serializers.DecimalField(
            max_digits=12, decimal_places=2, help_text=_("What the points are worth, in euros.")
        )
        tier = serializers.ChoiceField(choices=LoyaltyTier.choices)
        spend_12_months = serializers.DecimalField(max_digits=12, decimal_places=2)
        # A plain string (one of the tier values): a second ChoiceField would name the enum twice.
        next_tier = serializers.CharField(
            allow_null=True, help_text=_("The tier above, null at the top.")
        )
        points_to_next_tier = serializers.IntegerField()
        spend_to_next_tier = serializers.DecimalField(max_digits=12, decimal_places=2)
        movements = LoyaltyMovementOutput(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        customer = request_customer(request)
        summary = loyalty.loyalty_summary(customer=customer)
        recent = loyalty.loyalty_movements(customer=customer)[: loyalty.RECENT_MOVEMENTS]
        output = {
            **summary._asdict(),
            "balance_value": loyalty.loyalty_points_value(summary.balance),
            "movements": list(recent),
        }
        return Response(self.OutputSerializer(output).data)


class DeviceOutput(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["platform", "token", "app_version", "created_at", "last_seen_at"]
        read_only_fields = fields


class MeDevicesApi(CustomerApi):
    """The signed-in customer's app installations that receive her push notifications."""

    class InputSerializer(serializers.Serializer):
        platform = serializers.ChoiceField(choices=DevicePlatform.choices)
        token = serializers.RegexField(
            TOKEN_PATTERN,
            max_length=TOKEN_MAX_LENGTH,
            error_messages={"invalid": _("The push token holds characters no push provider uses.")},
            help_text=_("The push provider's token for this installation (FCM, APNs)."),
        )
        app_version = serializers.CharField(max_length=40, required=False, default="")

    @extend_schema(responses=DeviceOutput(many=True))
    def get(self, request: Request) -> Response:
        devices = Device.objects.filter(customer=request_customer(request), active=True)
        return Response(DeviceOutput(devices, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: DeviceOutput, 200: DeviceOutput},
        description=_(
            "Register this installation (201), or register it again (200): the app may call it "
            "on every launch. A token registered by another customer moves to this one."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.device_register(
            customer=request_customer(request), **serializer.validated_data
        )
        status = 201 if registration.created else 200
        return Response(DeviceOutput(registration.device).data, status=status)


class MeDeviceApi(CustomerApi):
    """One of the signed-in customer's devices, by its push token."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, token: str) -> Response:
        services.device_unregister(token=token, customer=request_customer(request))
        return Response(status=204)


# Mounted under /api/v1/ by omni/urls.py; names listed in API_ROOT appear in the API root.
urlpatterns: list = [
    path("auth/customer-token/", CustomerTokenApi.as_view(), name="customer-token"),
    path("me/", MeApi.as_view(), name="me"),
    path("me/consents/", MeConsentsApi.as_view(), name="me-consents"),
    path("me/loyalty/", MeLoyaltyApi.as_view(), name="me-loyalty"),
    path("me/devices/", MeDevicesApi.as_view(), name="me-devices"),
    # `path`: base64 tokens may hold '/'.
    path("me/devices/<path:token>/", MeDeviceApi.as_view(), name="me-device"),
]
API_ROOT: dict[str, str] = {
    "me": "me",
    "me-consents": "me-consents",
    "me-loyalty": "me-loyalty",
    "me-devices": "me-devices",
}
