"""Scenario 2 in a real browser: the cart follows her from the app into the store.

Léa fills her cart on the phone app (the API, over HTTP); in the store a salesperson signs in,
finds her by phone, sees the cart with the stock of her store, sells it at the till, and Léa's
online order history shows the purchase.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from omni import roles
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, StoreFactory, VariantFactory
from tests.orders.order_factories import stock_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_sells_at_the_till_the_cart_the_customer_built_on_her_phone(
    page: Page, screenshot, log_in, app_api, make_staff
):
    # Given Léa's cart, built on the app, and the dress on the shelf of the Paris store
    paris = StoreFactory(code="PAR01", name="Paris Rivoli")
    dress = VariantFactory(
        sku="ROBE-38",
        product=ProductFactory(name="Robe portefeuille"),
        name="Taille 38",
        price=Decimal("89.00"),
    )
    stock_up(dress, paris, 3)
    lea = CustomerFactory(
        first_name="Léa", last_name="Moreau", phone="+33612345678", email="lea@example.fr"
    )
    status, cart = app_api(lea, "POST", "/api/v1/me/cart/lines/", {"sku": "ROBE-38", "quantity": 1})
    assert status == 201, cart
    assert [(line["sku"], line["added_channel"]) for line in cart["lines"]] == [("ROBE-38", "app")]
    ines = make_staff(roles.STORE_STAFF, stores=[paris], first_name="Inès", last_name="Garnier")

    # When the salesperson signs in and finds her by the phone number she gives
    log_in(ines)
    screenshot("signed-in")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Store").click()
    page.get_by_role("link", name="Find a customer").click()
    page.get_by_label("Name, email, phone or card number").fill("06 12 34 56 78")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_contain_text("1 customer found")
    screenshot("found-by-phone")
    page.get_by_role("link", name="Léa Moreau").click()

    # Then her page shows the cart from the app, with the stock on this store's shelf
    expect(page.get_by_role("heading", name="Léa Moreau", level=1)).to_be_visible()
    cart_panel = page.get_by_role("region", name="Cart")
    expect(cart_panel).to_contain_text("Stock shown for Paris Rivoli.")
    line = cart_panel.get_by_role("row").filter(has_text="ROBE-38")
    expect(line).to_contain_text("Robe portefeuille")
    expect(line).to_contain_text("3 in stock")
    expect(line).to_contain_text("Mobile app")
    screenshot("her-cart-with-stock-here")

    # When she sells that cart at the till, paid by card
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Store").click()
    page.get_by_role("link", name="Till").click()
    page.get_by_label("Customer email, phone or loyalty card").fill("06 12 34 56 78")
    page.get_by_role("button", name="Start the sale").click()
    expect(page.get_by_text("Sale for Léa Moreau")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="ROBE-38")).to_contain_text("89.00")
    expect(page.get_by_label("Amount", exact=True)).to_have_value("89.00")
    page.get_by_label("Paid by").select_option(label="Card")
    page.get_by_label("Payment reference (terminal receipt)").fill("TPE-20240611-0042")
    screenshot("till-ready-to-pay")
    page.get_by_role("button", name="Done: record the sale").click()

    # Then the sale is done, in this store
    done = page.get_by_role("status").filter(has_text="done")
    expect(done).to_have_text(re.compile(r"Sale \S+ done\."))
    number = re.search(r"Sale (\S+) done\.", done.inner_text()).group(1)
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    screenshot("sale-done")

    # And her online account lists the purchase, made in store
    status, orders = app_api(lea, "GET", "/api/v1/me/orders/")
    assert status == 200, orders
    assert [(o["number"], o["channel"], o["total"]) for o in orders["results"]] == [
        (number, "store", "89.00")
    ]
    status, cart = app_api(lea, "GET", "/api/v1/me/cart/")
    assert (status, cart["lines"] if cart else []) == (200, [])
