"""The health check, the API root, the schema, the docs and the error format."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from omni import views
from omni.exceptions import DomainError

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_answers_503_when_the_broker_is_down(client, monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment first: point it where nothing listens.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(views, "_check_database", lambda: "down: OperationalError")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "down"


def test_api_root_links_the_schema_and_docs():
    response = APIClient().get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["schema"].endswith("/api/schema/")
    assert response.json()["docs"].endswith("/api/docs/")


def test_schema_and_docs_are_served(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")

    docs = client.get(reverse("docs"))
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_errors_share_one_shape():
    from rest_framework import serializers

    from omni.api import exception_handler

    class Broken(DomainError):
        code = "broken_rule"

    response = exception_handler(Broken("No.", sku="X"), {})
    assert (response.status_code, response.data) == (
        409,
        {"code": "broken_rule", "detail": "No.", "sku": "X"},
    )

    response = exception_handler(serializers.ValidationError({"quantity": ["Too small."]}), {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["fields"] == {"quantity": ["Too small."]}


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/" in (tmp_path / "schema.yaml").read_text()
