"""Filters of the catalogue API (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, Product, Variant
from inventory.selectors import products_in_stock_at


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category", label=_("Category slug (its sub-categories included)")
    )
    q = django_filters.CharFilter(
        method="filter_search", label=_("Search by name, style reference, SKU or EAN")
    )
    in_stock_at = django_filters.ModelChoiceFilter(
        queryset=Location.objects.filter(is_active=True),
        to_field_name="code",
        method="filter_in_stock_at",
        label=_("Code of a location where a unit is in stock"),
    )
    active = django_filters.BooleanFilter(
        field_name="is_active", label=_("Active products only (the default) or withdrawn ones")
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs) -> None:
        # The shop lists what it sells unless asked otherwise.
        if data is not None and "active" not in data:
            data = data.copy()
            data["active"] = "true"
        super().__init__(data, *args, **kwargs)

    def filter_category(self, queryset: QuerySet[Product], name: str, value: str):
        return queryset.filter(Q(category__slug=value) | Q(category__parent__slug=value))

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str):
        text = value.strip()
        matching_variant = Variant.objects.filter(product=OuterRef("pk")).filter(
            Q(sku__iexact=text) | Q(ean=text) | Q(name__icontains=text)
        )
        return queryset.filter(
            Q(name__icontains=text) | Q(reference__iexact=text) | Exists(matching_variant)
        )

    def filter_in_stock_at(self, queryset: QuerySet[Product], name: str, value: Location):
        return products_in_stock_at(queryset, location=value)


class LocationFilter(django_filters.FilterSet):
    class Meta:
        model = Location
        fields = ["kind", "click_and_collect", "ship_from_store", "postal_code"]
