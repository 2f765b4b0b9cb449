"""Every answer under /api/ has the API's error shape, the ones DRF's views never see included
(an unknown path, a server error); throttles key on the address the trusted proxies saw, never on
a header a client writes; only the shop's origins may call the API from a browser (CORS)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import AnonRateThrottle

from omni.api_root import PingApi

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["code"] == code
    assert body["detail"]
    return body


def test_an_unknown_api_path_answers_json_and_a_screen_path_answers_html(client):
    _error(client.get("/api/v1/no-such-thing/"), 404, "not_found")
    _error(client.get("/api/nothing-here"), 404, "not_found")

    page = client.get("/no-such-screen/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_answers_json(monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(PingApi, "get", broken)
    client = Client(raise_request_exception=False)

    body = _error(client.get("/api/v1/ping/"), 500, "server_error")
    assert "boom" not in body["detail"]  # nothing of the server's insides


def _ident(num_proxies: int, forwarded: str, remote: str = "203.0.113.9") -> str:
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    with override_settings(REST_FRAMEWORK=rest):
        request = APIRequestFactory().get(
            "/api/v1/products/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote
        )
        return AnonRateThrottle().get_ident(request)


def test_throttles_never_key_on_a_forwarded_header_without_trusted_proxies():
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0  # the default, API_TRUSTED_PROXIES unset
    assert _ident(0, "198.51.100.1") == "203.0.113.9"
    assert _ident(0, "198.51.100.2, 10.0.0.1") == "203.0.113.9"


def test_throttles_take_the_address_the_outermost_trusted_proxy_saw():
    # The client forged the first entry; the one trusted proxy appended the address it saw.
    assert _ident(1, "198.51.100.66, 192.0.2.7", remote="10.0.0.2") == "192.0.2.7"
    assert _ident(2, "198.51.100.66, 192.0.2.7, 10.0.0.5", remote="10.0.0.2") == "192.0.2.7"


def test_forged_forwarded_addresses_share_one_anonymous_bucket(client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "rate", "3/minute", raising=False)

    statuses = [
        client.get("/api/v1/locations/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]
    _error(client.get("/api/v1/locations/", HTTP_X_FORWARDED_FOR="198.51.100.99"), 429, "throttled")


def test_a_bad_request_outside_a_view_answers_json_under_the_api(client):
    # A Host header not in ALLOWED_HOSTS is refused before any view runs (SuspiciousOperation).
    _error(client.get("/api/v1/ping/", HTTP_HOST="evil.example"), 400, "bad_request")
    assert client.get("/login/", HTTP_HOST="evil.example")["Content-Type"].startswith("text/html")


def test_a_refusal_outside_a_view_answers_json_under_the_api_only():
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    from omni import views

    api = views.permission_denied(RequestFactory().get("/api/v1/x/"), PermissionDenied())
    _error(api, 403, "permission_denied")
    page = views.permission_denied(RequestFactory().get("/store/"), PermissionDenied())
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")


SHOP = "https://shop.example"


def _preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_no_origin_may_call_the_api_from_a_browser_by_default(client):
    assert settings.CORS_ALLOWED_ORIGINS == []  # API_CORS_ORIGINS unset
    answer = _preflight(client, "/api/v1/me/checkout/", SHOP)
    assert "access-control-allow-origin" not in answer.headers


@override_settings(CORS_ALLOWED_ORIGINS=[SHOP])
def test_the_shops_origin_may_call_the_api_with_its_headers_and_no_other_origin(client):
    answer = _preflight(client, "/api/v1/me/checkout/", SHOP)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    allowed = answer.headers["access-control-allow-headers"]
    assert {"authorization", "idempotency-key", "x-omni-channel"} <= set(allowed.split(", "))
    assert "access-control-allow-credentials" not in answer.headers

    read = client.get("/api/v1/locations/", HTTP_ORIGIN=SHOP)
    assert read.headers["access-control-allow-origin"] == SHOP

    stranger = _preflight(client, "/api/v1/me/checkout/", "https://evil.example")
    assert "access-control-allow-origin" not in stranger.headers
    screen = client.get("/login/", HTTP_ORIGIN=SHOP)
    assert "access-control-allow-origin" not in screen.headers
