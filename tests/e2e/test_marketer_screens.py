"""A marketer in a real browser: she builds a segment and sees its live count follow her rules,
creates a campaign for it, previews it for a customer of the segment and sends herself a test.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from campaigns.models import Campaign, CampaignStatus, Message, Segment
from omni import roles
from tests.campaigns.factories import consent
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rules(prefix: str) -> str:
    return json.dumps(
        {
            "all": [
                {"field": "consent", "op": "granted", "value": "email"},
                {"field": "postal_code", "op": "startswith", "value": prefix},
            ]
        }
    )


def test_a_marketer_builds_a_segment_and_a_campaign_and_sends_herself_a_test(
    page: Page, screenshot, log_in, make_staff, settings
):
    # Given customers in Paris and in Lyon who accept e-mail, and one in Paris who does not
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for first_name, postal_code in [
        ("Amélie", "75011"),
        ("Bérénice", "75015"),
        ("Chloé", "69003"),
        ("Denise", "69007"),
        ("Estelle", "69001"),
    ]:
        consent(CustomerFactory(first_name=first_name, postal_code=postal_code), "email")
    CustomerFactory(first_name="Fanny", postal_code="75002")
    claire = make_staff(roles.MARKETER, first_name="Claire", email="claire@omni.example")

    # When she signs in and starts a segment from the marketing area
    log_in(claire)
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Marketing").click()
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("Parisiennes abonnées")
    rules_box = page.get_by_label("Rules (JSON)")
    count = page.get_by_test_id("segment-count")

    # Then the live count follows the rules as she types them
    rules_box.fill(rules("75"))
    expect(count).to_have_text("2 customers match.")
    expect(page.get_by_role("table", name="A sample")).to_contain_text("Amélie")
    screenshot("paris")
    rules_box.fill(rules("69"))
    expect(count).to_have_text("3 customers match.")
    screenshot("lyon")
    # The helper adds a condition to the "all" group
    page.get_by_label("Field", exact=True).select_option(label="Postal code (postal_code)")
    page.get_by_label("Operator").select_option("eq")
    page.get_by_label("Value", exact=True).fill('"69003"')
    page.get_by_role("button", name="Add to the rules").click()
    expect(count).to_have_text("1 customer matches.")
    assert json.loads(rules_box.input_value())["all"][-1] == {
        "field": "postal_code",
        "op": "eq",
        "value": "69003",
    }
    screenshot("helper")
    rules_box.fill('{"field": "shoe_size", "op": "eq", "value": 38}')
    matches = page.get_by_role("region", name="Who matches now")
    expect(matches.get_by_role("alert")).to_have_text("field: unknown field 'shoe_size'")
    screenshot("refused")
    rules_box.fill(rules("75"))
    expect(count).to_have_text("2 customers match.")
    page.get_by_role("button", name="Create the segment").click()
    expect(page.get_by_role("status")).to_contain_text("Segment “Parisiennes abonnées” created.")

    # When she writes a campaign for it, and previews it
    page.get_by_role("row").filter(has_text="Parisiennes abonnées").get_by_role(
        "link", name="New campaign"
    ).click()
    page.get_by_label("Name", exact=True).fill("Soldes d'été")
    expect(page.get_by_label("Segment")).to_have_value(
        str(Segment.objects.get(name="Parisiennes abonnées").pk)
    )
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("A · Email · Subject").fill("{{ first_name }}, les soldes commencent")
    page.get_by_label("A · Email · Text").fill("Bonjour {{ first_name }}, -20% ce week-end.")
    page.get_by_role("button", name="Preview").click()

    # Then she sees the e-mail as the first customer of the segment would receive it
    preview = page.get_by_role("article", name="Variant A · Email")
    expect(preview).to_contain_text("Amélie, les soldes commencent")
    expect(preview).to_contain_text("Bonjour Amélie, -20% ce week-end.")
    screenshot("preview")

    # When she picks another customer of the segment, the preview and the test are for her
    page.get_by_role("button", name=re.compile("^Bérénice")).click()
    preview = page.get_by_role("article", name="Variant A · Email")
    expect(preview).to_contain_text("Bonjour Bérénice, -20% ce week-end.")
    screenshot("preview-other-customer")

    # When she sends herself a test
    page.get_by_role("button", name="Send me a test").click()
    expect(page.get_by_role("status").filter(has_text="test sent")).to_have_text(
        "Variant A: test sent to claire@omni.example (1 text)."
    )
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["claire@omni.example"], "[Test · Email] Bérénice, les soldes commencent")
    ]
    screenshot("test-sent")

    # And saves the campaign: a draft, nothing sent to customers yet
    page.get_by_role("button", name="Save the campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Soldes d'été")
    expect(page.locator("#campaign-progress")).to_contain_text(re.compile("Draft"))
    screenshot("campaign-page")
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.DRAFT
    assert not Message.objects.exists()
