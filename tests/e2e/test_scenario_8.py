"""Scenario 8 in a real browser: service with memory of her chat and her cart.

Léa chatted about her order and left a dress in her cart on the app; now she calls. The agent
signs in, finds her, opens her 360° view, sees the chat and the cart, logs the call in the same
conversation through the contact form, and the call tops her timeline.

`CustomerView` holds every locator of the 360° view (customers:customer-360), so that a change
of that page changes that class only.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from customers.models_service import Contact
from customers.services import contact_log
from omni import roles
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHAT_NOTES = "Asks where her order OM-1042 is; promised a call back about the delivery date."
CALL_NOTES = "Called back: the parcel leaves the warehouse tomorrow, delivery on Thursday."


class CustomerView:
    """The 360° view: one page with everything about one customer."""

    def __init__(self, page: Page, customer) -> None:
        self.page = page
        self.customer = customer

    def open(self) -> None:
        """From her customer page, where the search and the contact form lead."""
        expect(self.page.get_by_role("heading", level=1)).to_have_text(self.customer.full_name)
        self.page.get_by_role("link", name="360° view").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            f"{self.customer.full_name}: 360° view"
        )

    @property
    def contacts(self) -> Locator:
        """The rows of the service contacts panel, newest first."""
        return self.page.get_by_role("region", name="Service contacts").get_by_role("row")

    @property
    def cart_lines(self) -> Locator:
        cart = self.page.get_by_role("region", name="Cart")
        return cart.get_by_role("table", name="Lines").get_by_role("row")

    @property
    def timeline(self) -> Locator:
        """The timeline's entries, newest first."""
        return self.page.get_by_role("region", name="Timeline").get_by_role("listitem")

    def log_a_contact(self) -> None:
        self.page.get_by_role("region", name="Service contacts").get_by_role(
            "link", name="Log a contact"
        ).click()


def test_an_agent_sees_the_chat_and_the_cart_and_logs_the_call_in_the_same_conversation(
    page: Page, screenshot, log_in, app_api, make_staff
):
    # Given the cart Léa built on her phone and the chat she had this morning with another agent
    lea = CustomerFactory(first_name="Léa", last_name="Moreau", email="lea@example.fr")
    VariantFactory(
        sku="ROBE-38",
        product=ProductFactory(name="Robe portefeuille"),
        name="Taille 38",
        price=Decimal("89.00"),
    )
    status, cart = app_api(lea, "POST", "/api/v1/me/cart/lines/", {"sku": "ROBE-38", "quantity": 1})
    assert status == 201, cart
    chat = contact_log(
        customer=lea,
        channel="chat",
        reason="delivery",
        outcome="follow_up",
        notes=CHAT_NOTES,
        agent=make_staff(roles.SERVICE_AGENT, first_name="Hugo", last_name="Petit"),
    )
    agent = make_staff(roles.SERVICE_AGENT, first_name="Sarah", last_name="Lefèvre")

    # When the agent who takes her call signs in, finds her and opens her 360° view
    log_in(agent)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Customer service"
    ).click()
    page.get_by_role("link", name="Find a customer").click()
    page.get_by_label("Name, email, phone or card number").fill("lea@example.fr")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Léa Moreau").click()
    view = CustomerView(page, lea)
    view.open()

    # Then she sees the chat, still waiting for a follow-up, and the cart built on the app
    chat_row = view.contacts.filter(has_text=CHAT_NOTES)
    expect(chat_row).to_contain_text("Chat")
    expect(chat_row).to_contain_text("Follow-up needed")
    expect(chat_row).to_contain_text("Hugo Petit")
    cart_line = view.cart_lines.filter(has_text="ROBE-38")
    expect(cart_line).to_contain_text("Taille 38")
    expect(cart_line).to_contain_text("Mobile app")
    expect(view.timeline.filter(has_text=CHAT_NOTES)).to_contain_text("Contact: Delivery problem")
    screenshot("chat-and-cart")

    # When she logs the call, continuing the chat's conversation
    view.log_a_contact()
    expect(page.get_by_role("heading", name="Log a contact")).to_be_visible()
    page.get_by_label("Channel").select_option(label="Phone")
    page.get_by_label("Direction").select_option(label="From the customer")
    page.get_by_label("Reason").select_option(label="Delivery problem")
    page.get_by_label("Outcome").select_option(label="Resolved")
    page.get_by_label("Notes").fill(CALL_NOTES)
    page.get_by_label("Continues").select_option(label=str(chat.conversation))
    screenshot("call-form")
    page.get_by_role("button", name="Log the contact").click()
    expect(page.get_by_role("status")).to_contain_text("Contact logged.")

    # Then, back on her 360° view, the call tops the timeline, in the chat's conversation
    view.open()
    expect(view.timeline.first).to_contain_text("Contact: Delivery problem")
    expect(view.timeline.first).to_contain_text("Phone")
    expect(view.timeline.first).to_contain_text(CALL_NOTES)
    conversation = f"#{chat.conversation_id} (Open)"
    expect(view.contacts.filter(has_text=CALL_NOTES)).to_contain_text(conversation)
    expect(view.contacts.filter(has_text=CALL_NOTES)).to_contain_text("Sarah Lefèvre")
    expect(view.contacts.filter(has_text=CHAT_NOTES)).to_contain_text(conversation)
    screenshot("call-on-the-timeline")

    # And the timeline filtered on service contacts shows the call, then the chat
    page.get_by_label("Kind").select_option(label="Service contact")
    page.get_by_role("button", name="Filter").click()
    expect(view.timeline).to_have_count(2)
    expect(view.timeline.nth(0)).to_contain_text(CALL_NOTES)
    expect(view.timeline.nth(1)).to_contain_text(CHAT_NOTES)
    screenshot("timeline-of-contacts")
    call = Contact.objects.get(channel="phone")
    assert (call.customer, call.conversation_id, call.agent, call.outcome) == (
        lea,
        chat.conversation_id,
        agent,
        "resolved",
    )
