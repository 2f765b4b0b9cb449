"""Every operation of the published API (its OpenAPI schema), called with inputs generated from
that schema, valid and not (Schemathesis): none answers with a server error, and every status it
answers is one its schema documents (omni.api_schema: the errors of each operation). A bad body,
a wrong type, an unknown path parameter or a missing header gets a documented 4xx, never a 500.

The examples are the suite's Hypothesis profile (tests/conftest.py): the same every run. Callers
are the real ones: the e-commerce site's service account, and a customer with a cart, stock at a
click-and-collect store and an order of her own, so that calls reach past authentication.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, status_code_conformance

from customers.auth import customer_token
from omni import roles
from omni.wsgi import application
from tests.campaigns.factories import OrderFactory
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StockLevelFactory, StoreFactory, VariantFactory
from tests.orders.factories import CartFactory, CartLineFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def callers(db, make_staff):
    # Called through WSGI, not Django's test client: keep the test's connection (and its
    # transaction) open across requests, as that client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield _callers(make_staff)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _callers(make_staff) -> dict[str, str]:
    store = StoreFactory(code="PAR01", click_and_collect=True)
    variant = VariantFactory(sku="SKU-FUZZ")
    StockLevelFactory(location=store, variant=variant, on_hand=5)
    customer = CustomerFactory()
    cart = CartFactory(customer=customer)
    CartLineFactory(cart=cart, variant=variant)
    OrderFactory(customer=customer, number="OM-00000001")
    site = make_staff(roles.ECOMMERCE_SITE)
    return {
        "site": f"Token {Token.objects.create(user=site).key}",
        "customer": f"Customer {customer_token(customer=customer)}",
    }


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_answers_a_documented_status_never_a_server_error(case, callers):
    security = {
        key
        for requirement in case.operation.definition.raw.get("security", [])
        for key in requirement
    }
    caller = callers["customer"] if "customerToken" in security else callers["site"]
    response = case.call(headers={"Authorization": caller})
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
