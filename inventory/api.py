"""The inventory API: one APIView per operation (see docs/architecture.md).

Catalogue, availability and locations are public reads: the web shop shows stock to anyone.
They are throttled by the default anonymous and user rates, and each runs a fixed number of
queries whatever the number of variants or locations it returns.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors
from inventory.filters import LocationFilter, ProductFilter
from inventory.geo import GeoPoint, point_for_postal_code
from inventory.models import Category, Location, Product, Variant

MAX_BATCH_SKUS = 100
MAX_NEAREST = 20


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class VariantOutput(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = ["sku", "ean", "name", "attributes", "price", "currency"]


class StoreAvailabilityOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()
    available = serializers.IntegerField(help_text="Units that can be collected.")
    ready_at = serializers.DateTimeField(allow_null=True)
    ready_today = serializers.BooleanField()
    transfer_available = serializers.IntegerField(
        help_text="When the store has none: units a warehouse can send it."
    )
    transfer_ready_at = serializers.DateTimeField(allow_null=True)


class VariantAvailabilityOutput(serializers.Serializer):
    sku = serializers.CharField()
    delivery = serializers.IntegerField(help_text="Units available for home delivery.")
    stores = StoreAvailabilityOutput(many=True)


def _timestamp(value: datetime | None, zone: tzinfo) -> str | None:
    """A datetime as `serializers.DateTimeField` writes it: ISO 8601 in the current time zone."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _availability_data(availability: selectors.VariantAvailability) -> dict:
    """What `VariantAvailabilityOutput` gives for `availability`, built directly: this is the
    web shop's hottest read, and the serializer machinery cost several times the query."""
    zone = timezone.get_current_timezone()
    return {
        "sku": availability.sku,
        "delivery": availability.delivery,
        "stores": [
            {
                "code": store.code,
                "name": store.name,
                "city": store.city,
                "available": store.available,
                "ready_at": _timestamp(store.ready_at, zone),
                "ready_today": store.ready_today,
                "transfer_available": store.transfer_available,
                "transfer_ready_at": _timestamp(store.transfer_ready_at, zone),
            }
            for store in availability.stores
        ],
    }


def _sellable_variants(skus: list[str], field: str) -> list[Variant]:
    """The variants for `skus`, in the order asked; a 400 naming every unknown one."""
    wanted = list(dict.fromkeys(sku.strip() for sku in skus))
    found = selectors.variants_by_sku(skus=wanted)
    unknown = [sku for sku in wanted if sku not in found]
    if unknown:
        raise serializers.ValidationError(
            {field: [_("Unknown or withdrawn SKU: %(sku)s.") % {"sku": sku} for sku in unknown]}
        )
    return [found[sku] for sku in wanted]


class ProductListApi(generics.ListAPIView):
    """Products of the catalogue with their active variants and prices."""

    permission_classes = [AllowAny]
    filterset_class = ProductFilter

    @extend_schema_serializer(component_name="ProductSummary")
    class OutputSerializer(serializers.ModelSerializer):
        category = CategoryOutput()
        variants = VariantOutput(many=True, source="active_variants")

        class Meta:
            model = Product
            fields = ["reference", "name", "brand", "category", "vat_rate", "variants"]

    serializer_class = OutputSerializer

    def get_queryset(self):
        return selectors.catalogue_products()


class ProductDetailApi(APIView):
    """One active product by its style reference, with its description and active variants."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="ProductDetail")
    class OutputSerializer(ProductListApi.OutputSerializer):
        class Meta(ProductListApi.OutputSerializer.Meta):
            fields = [*ProductListApi.OutputSerializer.Meta.fields, "description"]

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, reference: str) -> Response:
        product = get_object_or_404(
            selectors.catalogue_products().filter(is_active=True), reference=reference
        )
        return Response(self.OutputSerializer(product).data)


class VariantAvailabilityApi(APIView):
    """Availability of one variant: delivery, pickup per store, transfer offers."""

    permission_classes = [AllowAny]

    @extend_schema(responses=VariantAvailabilityOutput)
    def get(self, request: Request, sku: str) -> Response:
        availability = selectors.variant_availability_by_sku(sku=sku)
        if availability is None:
            raise Http404
        return Response(_availability_data(availability))


class AvailabilityBatchApi(APIView):
    """Availability of several variants at once (a cart page): `?sku=A&sku=B` or a POSTed list."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="AvailabilityQuery")
    class InputSerializer(serializers.Serializer):
        sku = serializers.ListField(
            child=serializers.CharField(max_length=40),
            allow_empty=False,
            max_length=MAX_BATCH_SKUS,
        )

    def _answer(self, data: dict) -> Response:
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        variants = _sellable_variants(serializer.validated_data["sku"], "sku")
        availability = selectors.variants_availability(variants=variants)
        return Response([_availability_data(item) for item in availability])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "sku", str, many=True, required=True, description="One SKU per parameter."
            )
        ],
        responses=VariantAvailabilityOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return self._answer({"sku": request.query_params.getlist("sku")})

    @extend_schema(request=InputSerializer, responses=VariantAvailabilityOutput(many=True))
    def post(self, request: Request) -> Response:
        data = request.data
        return self._answer({"sku": data} if isinstance(data, list) else data)


class LocationListApi(generics.ListAPIView):
    """Active stores and warehouses with their services and opening hours."""

    permission_classes = [AllowAny]
    filterset_class = LocationFilter

    @extend_schema_serializer(component_name="Location")
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Location
            fields = [
                "code",
                "name",
                "kind",
                "address",
                "city",
                "postal_code",
                "country",
                "latitude",
                "longitude",
                "click_and_collect",
                "ship_from_store",
                "pickup_preparation_minutes",
                "opening_hours",
            ]

    serializer_class = OutputSerializer

    def get_queryset(self):
        return selectors.locations().active().order_by("code")


class NearestStoresApi(APIView):
    """The stores nearest to a French postal code, or to coordinates, that have a SKU."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="NearbyStoreQuery")
    class InputSerializer(serializers.Serializer):
        sku = serializers.CharField(max_length=40)
        postal_code = serializers.RegexField(r"^\d{5}$", required=False)
        lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
        lng = serializers.FloatField(min_value=-180, max_value=180, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=MAX_NEAREST, default=5)

        def validate(self, attrs: dict) -> dict:
            has_point = "lat" in attrs or "lng" in attrs
            if "postal_code" in attrs and has_point:
                raise serializers.ValidationError(_("Give a postal code or coordinates, not both."))
            if has_point:
                missing = "lng" if "lat" in attrs else "lat"
                if missing not in attrs:
                    raise serializers.ValidationError({missing: [_("Give both lat and lng.")]})
                attrs["origin"] = GeoPoint(attrs["lat"], attrs["lng"])
            elif "postal_code" in attrs:
                origin = point_for_postal_code(attrs["postal_code"])
                if origin is None:
                    raise serializers.ValidationError(
                        {"postal_code": [_("Unknown French postal code.")]}
                    )
                attrs["origin"] = origin
            else:
                raise serializers.ValidationError(_("Give a postal code or coordinates."))
            return attrs

    @extend_schema_serializer(component_name="NearbyStore")
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        address = serializers.CharField()
        city = serializers.CharField()
        postal_code = serializers.CharField()
        distance_km = serializers.FloatField()
        available = serializers.IntegerField()
        click_and_collect = serializers.BooleanField()
        ready_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        [variant] = _sellable_variants([data["sku"]], "sku")
        stores = selectors.nearest_stores(
            variant=variant, origin=data["origin"], limit=data["limit"]
        )
        return Response(self.OutputSerializer(stores, many=True).data)


# Mounted under /api/v1/ by omni/urls.py; names listed in API_ROOT appear in the API root.
urlpatterns: list = [
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<str:reference>/", ProductDetailApi.as_view(), name="product-detail"),
    path("availability/", AvailabilityBatchApi.as_view(), name="availability"),
    path("availability/<str:sku>/", VariantAvailabilityApi.as_view(), name="variant-availability"),
    path("locations/", LocationListApi.as_view(), name="location-list"),
    path("locations/nearest/", NearestStoresApi.as_view(), name="nearest-stores"),
]
API_ROOT: dict[str, str] = {"products": "product-list", "locations": "location-list"}
