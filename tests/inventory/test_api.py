"""The public inventory API: catalogue, availability, locations and nearby stores."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from inventory import api
from inventory.models import Location, StockLevel, Variant
from tests.inventory.factories import (
    CategoryFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache, which outlives a test: start each test with none.
    cache.clear()


@pytest.fixture
def client() -> APIClient:
    return APIClient()  # anonymous: these reads are public


def fields_of(response) -> dict:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    return response.json()["fields"]


# --- products -------------------------------------------------------------------------------------


def test_product_list_shows_active_products_with_active_variants_and_prices(client):
    product = ProductFactory(reference="P1", name="Robe midi", brand="Omni")
    VariantFactory(product=product, sku="P1-M", ean="3000000000017", price=Decimal("59.90"))
    VariantFactory(product=product, sku="P1-X", is_active=False)
    ProductFactory(reference="P2", is_active=False)

    response = client.get("/api/v1/products/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "reference": "P1",
                "name": "Robe midi",
                "brand": "Omni",
                "category": {"slug": "robes", "name": "Robes"},
                "vat_rate": "20.00",
                "variants": [
                    {
                        "sku": "P1-M",
                        "ean": "3000000000017",
                        "name": "Robe midi M",
                        "attributes": {"size": "M", "colour": "noir"},
                        "price": "59.90",
                        "currency": "EUR",
                    }
                ],
            }
        ],
    }


def references(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [product["reference"] for product in response.json()["results"]]


def test_product_list_filters_by_category_and_its_children(client):
    robes = CategoryFactory(slug="robes", name="Robes")
    longues = CategoryFactory(slug="robes-longues", name="Robes longues", parent=robes)
    ProductFactory(reference="R1", category=robes)
    ProductFactory(reference="R2", category=longues)
    ProductFactory(reference="S1", category=CategoryFactory(slug="sacs", name="Sacs"))

    assert references(client.get("/api/v1/products/?category=robes")) == ["R1", "R2"]
    assert references(client.get("/api/v1/products/?category=robes-longues")) == ["R2"]
    assert references(client.get("/api/v1/products/?category=nope")) == []


@pytest.mark.parametrize("query", ["chemise", "CHEM-01-s", "3000000000099", "ref-chem"])
def test_product_list_searches_name_sku_ean_and_reference(client, query):
    shirt = ProductFactory(reference="REF-CHEM", name="Robe chemise")
    VariantFactory(product=shirt, sku="CHEM-01-S", ean="3000000000099")
    VariantFactory(product=ProductFactory(reference="OTHER", name="Jean droit"))

    assert references(client.get("/api/v1/products/", {"q": query})) == ["REF-CHEM"]


def test_product_list_filters_products_in_stock_at_a_location(client):
    store = StoreFactory(code="PAR01")
    in_stock = VariantFactory(product__reference="IN")
    all_reserved = VariantFactory(product__reference="HELD")
    elsewhere = VariantFactory(product__reference="AWAY")
    StockLevelFactory(variant=in_stock, location=store, on_hand=1)
    StockLevelFactory(variant=all_reserved, location=store, on_hand=2, reserved=2)
    StockLevelFactory(variant=elsewhere, location=StoreFactory(), on_hand=5)

    assert references(client.get("/api/v1/products/?in_stock_at=PAR01")) == ["IN"]


def test_product_list_rejects_an_unknown_location(client):
    response = client.get("/api/v1/products/?in_stock_at=NOWHERE")

    assert list(fields_of(response)) == ["in_stock_at"]


def test_product_list_shows_withdrawn_products_on_request(client):
    ProductFactory(reference="ON")
    ProductFactory(reference="OFF", is_active=False)

    assert references(client.get("/api/v1/products/?active=false")) == ["OFF"]


def test_product_list_pages(client):
    for number in range(3):
        ProductFactory(reference=f"P{number}", name=f"Robe {number}")

    first = client.get("/api/v1/products/?page_size=2")
    beyond = client.get("/api/v1/products/?page=9")

    assert references(first) == ["P0", "P1"]
    assert first.json()["count"] == 3
    assert first.json()["next"].endswith("/api/v1/products/?page=2&page_size=2")
    assert (beyond.status_code, beyond.json()["code"]) == (404, "not_found")


def test_product_list_caps_the_page_size(client):
    ProductFactory.create_batch(3)

    response = client.get("/api/v1/products/?page_size=100000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_product_detail_adds_the_description(client):
    product = ProductFactory(reference="P1", description="En lin.")
    VariantFactory(product=product, sku="P1-M")

    response = client.get("/api/v1/products/P1/")

    assert response.status_code == 200
    assert response.json()["description"] == "En lin."
    assert [variant["sku"] for variant in response.json()["variants"]] == ["P1-M"]


@pytest.mark.parametrize("active", [True, False])
def test_product_detail_of_an_unknown_or_withdrawn_product_is_not_found(client, active):
    ProductFactory(reference="P1", is_active=active)

    response = client.get("/api/v1/products/P1/" if not active else "/api/v1/products/P9/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- availability ---------------------------------------------------------------------------------


def test_availability_of_one_variant(client):
    variant = VariantFactory(sku="P1-M")
    store = StoreFactory(code="PAR01", name="Rivoli", city="Paris", safety_stock_pickup=1)
    StockLevelFactory(variant=variant, location=store, on_hand=4, reserved=1)
    StockLevelFactory(variant=variant, location=WarehouseFactory(), on_hand=7)
    StoreFactory(code="PAR02", transfer_lead_days=2)

    response = client.get("/api/v1/availability/P1-M/")

    assert response.status_code == 200
    body = response.json()
    assert (body["sku"], body["delivery"]) == ("P1-M", 7)
    first, second = body["stores"]
    assert (first["code"], first["available"], first["transfer_available"]) == ("PAR01", 2, 0)
    assert first["ready_at"] is not None
    assert (second["code"], second["available"], second["ready_at"]) == ("PAR02", 0, None)
    assert second["transfer_available"] == 7
    assert second["transfer_ready_at"] is not None


@pytest.mark.parametrize("sku", ["NOPE", "WITHDRAWN"])
def test_availability_of_an_unknown_or_withdrawn_sku_is_not_found(client, sku):
    VariantFactory(sku="WITHDRAWN", is_active=False)

    response = client.get(f"/api/v1/availability/{sku}/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_batch_availability_by_query_keeps_the_order_asked(client):
    for sku, on_hand in (("A", 1), ("B", 2)):
        StockLevelFactory(
            variant=VariantFactory(sku=sku), location=WarehouseFactory(), on_hand=on_hand
        )

    response = client.get("/api/v1/availability/?sku=B&sku=A&sku=B")

    assert response.status_code == 200
    assert [(item["sku"], item["delivery"]) for item in response.json()] == [("B", 2), ("A", 1)]


@pytest.mark.parametrize("body", [["A", "B"], {"sku": ["A", "B"]}])
def test_batch_availability_by_post(client, body):
    VariantFactory(sku="A")
    VariantFactory(sku="B")

    response = client.post("/api/v1/availability/", body, format="json")

    assert response.status_code == 200
    assert [item["sku"] for item in response.json()] == ["A", "B"]


def test_batch_availability_names_every_unknown_sku(client):
    VariantFactory(sku="A")
    VariantFactory(sku="OLD", is_active=False)

    response = client.get("/api/v1/availability/?sku=A&sku=NOPE&sku=OLD")

    assert fields_of(response) == {
        "sku": ["Unknown or withdrawn SKU: NOPE.", "Unknown or withdrawn SKU: OLD."]
    }


@pytest.mark.parametrize(
    "query", ["", "?sku=", "?" + "&".join(f"sku=S{n}" for n in range(api.MAX_BATCH_SKUS + 1))]
)
def test_batch_availability_rejects_no_sku_blank_skus_and_too_many(client, query):
    response = client.get(f"/api/v1/availability/{query}")

    assert list(fields_of(response)) == ["sku"]


def test_batch_availability_rejects_a_body_that_is_not_a_list_of_skus(client):
    response = client.post("/api/v1/availability/", {"sku": "A"}, format="json")

    assert list(fields_of(response)) == ["sku"]


# --- locations ------------------------------------------------------------------------------------


def test_locations_list_active_locations_with_their_services(client):
    StoreFactory(
        code="PAR01",
        name="Rivoli",
        address="1 rue de Rivoli",
        ship_from_store=True,
        opening_hours={"0": ["10:00", "19:00"], "6": None},
        pickup_preparation_minutes=60,
    )
    WarehouseFactory(code="WH1")
    StoreFactory(code="OLD", is_active=False)

    response = client.get("/api/v1/locations/")

    assert response.status_code == 200
    store, warehouse = response.json()["results"]
    assert store == {
        "code": "PAR01",
        "name": "Rivoli",
        "kind": "store",
        "address": "1 rue de Rivoli",
        "city": "Paris",
        "postal_code": "75001",
        "country": "FR",
        "latitude": "48.860600",
        "longitude": "2.347600",
        "click_and_collect": True,
        "ship_from_store": True,
        "pickup_preparation_minutes": 60,
        "opening_hours": {"0": ["10:00", "19:00"], "6": None},
    }
    assert (warehouse["code"], warehouse["kind"], warehouse["click_and_collect"]) == (
        "WH1",
        "warehouse",
        False,
    )


def test_locations_filter_by_service(client):
    StoreFactory(code="CC", click_and_collect=True)
    StoreFactory(code="NOCC", click_and_collect=False)

    response = client.get("/api/v1/locations/?click_and_collect=false")

    assert [location["code"] for location in response.json()["results"]] == ["NOCC"]


@pytest.fixture
def stores_with_dress():
    dress = VariantFactory(sku="DRESS")
    for code, lat, lng in (
        ("LYO01", "45.760800", "4.859500"),
        ("PAR01", "48.860600", "2.347600"),
        ("MAR01", "43.297600", "5.381000"),
    ):
        StockLevelFactory(
            variant=dress, location=StoreFactory(code=code, latitude=lat, longitude=lng)
        )
    return dress


def test_nearest_stores_to_a_postal_code(client, stores_with_dress):
    response = client.get("/api/v1/locations/nearest/?sku=DRESS&postal_code=13008&limit=2")

    assert response.status_code == 200
    assert [store["code"] for store in response.json()] == ["MAR01", "LYO01"]
    assert response.json()[0]["available"] == 10


def test_nearest_stores_to_coordinates(client, stores_with_dress):
    response = client.get("/api/v1/locations/nearest/?sku=DRESS&lat=48.85&lng=2.35")

    assert [store["code"] for store in response.json()] == ["PAR01", "LYO01", "MAR01"]
    assert response.json()[0]["distance_km"] == 1.2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("postal_code=75A11", "postal_code"),
        ("postal_code=750", "postal_code"),
        ("postal_code=00100", "postal_code"),
        ("lat=91&lng=2", "lat"),
        ("lat=abc&lng=2", "lat"),
        ("lat=48.8", "lng"),
        ("lat=48.8&lng=2.3&postal_code=75011", "non_field_errors"),
        ("", "non_field_errors"),
        ("postal_code=75011&limit=0", "limit"),
    ],
)
def test_nearest_stores_rejects_a_malformed_place(client, stores_with_dress, query, field):
    response = client.get(f"/api/v1/locations/nearest/?sku=DRESS&{query}")

    assert list(fields_of(response)) == [field]


def test_nearest_stores_rejects_an_unknown_sku(client):
    response = client.get("/api/v1/locations/nearest/?sku=NOPE&postal_code=75011")

    assert fields_of(response) == {"sku": ["Unknown or withdrawn SKU: NOPE."]}


# --- cross-cutting --------------------------------------------------------------------------------


def test_reads_are_throttled_for_anonymous_clients(client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "rate", "2/minute", raising=False)

    statuses = [client.get("/api/v1/locations/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_api_root_links_products_and_locations(client):
    links = client.get("/api/v1/").json()

    assert links["products"].endswith("/api/v1/products/")
    assert links["locations"].endswith("/api/v1/locations/")


def test_the_schema_describes_every_endpoint_without_warnings():
    views = {
        "ProductListApi",
        "ProductDetailApi",
        "VariantAvailabilityApi",
        "AvailabilityBatchApi",
        "LocationListApi",
        "NearestStoresApi",
    }
    GENERATOR_STATS.reset()

    schema = SchemaGenerator(api_version="v1").get_schema(request=None, public=True)

    problems = [
        message
        for message in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
        if any(view in message for view in views) or "inventory" in message
    ]
    assert problems == []
    assert {
        "/api/v1/products/",
        "/api/v1/products/{reference}/",
        "/api/v1/availability/",
        "/api/v1/availability/{sku}/",
        "/api/v1/locations/",
        "/api/v1/locations/nearest/",
    } <= set(schema["paths"])


# --- query counts ---------------------------------------------------------------------------------


@pytest.fixture(params=[(1, 1), (30, 50)], ids=["1-store-1-variant", "30-stores-50-variants"])
def catalogue(request) -> list[str]:
    """`stores` stores (and a warehouse) stocking every one of `variants` variants of 5 products
    (or one); returns the SKUs."""
    store_count, variant_count = request.param
    locations = [
        *StoreFactory.create_batch(store_count, ship_from_store=True),
        WarehouseFactory(),
    ]
    products = ProductFactory.create_batch(min(5, variant_count))
    variants = [
        VariantFactory(product=products[number % len(products)]) for number in range(variant_count)
    ]
    StockLevel.objects.bulk_create(
        [
            StockLevel(variant=variant, location=location, on_hand=3)
            for variant in variants
            for location in locations
        ]
    )
    return [variant.sku for variant in variants]


@pytest.mark.parametrize(
    ("url", "bound"),
    [
        ("/api/v1/products/", 3),
        ("/api/v1/products/?q=Robe&category=robes&in_stock_at={store}", 4),
        ("/api/v1/products/{reference}/", 2),
        ("/api/v1/availability/{sku}/", 2),
        ("/api/v1/availability/?{skus}", 2),
        ("/api/v1/locations/", 2),
        ("/api/v1/locations/nearest/?sku={sku}&postal_code=75011", 2),
    ],
)
def test_reads_run_the_same_queries_for_one_or_many_stores_and_variants(
    client, catalogue, django_assert_max_num_queries, url, bound
):
    variant = Variant.objects.select_related("product").get(sku=catalogue[-1])
    url = url.format(
        store=Location.objects.filter(kind="store").first().code,
        reference=variant.product.reference,
        sku=variant.sku,
        skus="&".join(f"sku={sku}" for sku in catalogue),
    )

    with django_assert_max_num_queries(bound):
        response = client.get(url)

    assert response.status_code == 200, response.content
    assert response.content
