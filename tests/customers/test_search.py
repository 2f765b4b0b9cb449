"""Customer search: each key finds her, and at 100,000 customers the indexes are used."""

import pytest
from django.db import connection

from customers import selectors
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lea():
    return CustomerFactory(
        first_name="Léa",
        last_name="Dupont-Moreau",
        email="lea.dupont@example.fr",
        phone="+33612345678",
        card_number="OMNI0000004242",
    )


@pytest.mark.parametrize(
    "query",
    [
        "dupont",
        "Léa Dupont",
        "MOREAU léa",
        "dup lé",
        "léa dupont-mor",
        "moreau",
        "lea.dupont@example.fr",
        "LEA.DUPONT@",
        "06 12 34 56 78",
        "+33 6 12 34 56 78",
        "0612345678",
        "omni 0000004242",
    ],
)
def test_search_finds_by_name_email_phone_or_card(lea, query):
    CustomerFactory(first_name="Inès", last_name="Martin", email="ines@example.fr")

    assert list(selectors.customer_search(query=query)) == [lea]


@pytest.mark.parametrize("query", ["", "   ", "Nobody", "06 00 00 00 01"])
def test_search_finds_nobody_for_no_match(lea, query):
    assert list(selectors.customer_search(query=query)) == []


def test_merged_and_erased_profiles_are_not_found(lea):
    CustomerFactory(last_name="Dupont", merged_into=lea, email=None, phone=None)

    assert list(selectors.customer_search(query="dupont")) == [lea]


# Names without digits (54321 -> "fedcb"): a query with digits is read as a card number.
SEED_100K = """
INSERT INTO customers_customer (created_at, updated_at, first_name, last_name, email, phone,
    card_number, gender, postal_code, country, preferred_channel, language, created_channel,
    suppressed)
SELECT now(), now(), 'Prenom' || (i % 997),
    'Nom' || translate(i::text, '0123456789', 'abcdefghij'), 'client' || i || '@bench.example',
    '+336' || lpad(i::text, 8, '0'), 'OMNI' || lpad(i::text, 10, '0'), '', '75001', 'FR', '',
    'fr', 'web', false
FROM generate_series(1, 100000) AS i
"""


PLANS = [
    ("nomfedcb", "customer_last_first_prefix"),
    ("omfedcb", "customer_last_name_trgm"),  # not how any name starts: the trigram fallback
    ("client54321@bench", "customer_email_trgm"),
    ("client54321@bench.example", "customer_email_unique_ci"),
    ("06 00 05 43 21", "customer_phone_unique"),
    ("OMNI0000054321", "customer_card_unique"),
]


def test_the_query_plans_use_the_indexes_at_100000_customers():
    with connection.cursor() as cursor:
        cursor.execute(SEED_100K)
        cursor.execute("ANALYZE customers_customer")

    for query, index in PLANS:
        found = selectors.customer_search(query=query)
        plan = found.explain()

        assert index in plan, (query, plan)
        assert "Seq Scan" not in plan, (query, plan)
        assert [customer.last_name for customer in found] == ["Nomfedcb"], query


def test_the_search_screen_asks_for_a_sharper_search_past_ten_matches(client, make_staff):
    from django.urls import reverse

    from omni import roles

    CustomerFactory.create_batch(selectors.SEARCH_LIMIT + 2, last_name="Martin")
    client.force_login(make_staff(roles.STORE_STAFF))

    page = client.get(reverse("customers:search"), {"q": "martin"})

    assert len(page.context["results"]) == selectors.SEARCH_LIMIT == 10
    assert "Only the first matches are shown" in page.content.decode()
