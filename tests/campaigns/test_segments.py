"""The segment compiler: every field, the groups, invalid rules, one query."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Segment
from campaigns.segments import SegmentRuleError, validate_rules
from campaigns.selectors import segment_count, segment_customers, segment_sample
from customers.models import Channel, Gender
from orders.models import CartStatus
from tests.campaigns.factories import bought, consent, order_placed
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import CategoryFactory, ProductFactory, StoreFactory, VariantFactory
from tests.orders.factories import CartFactory, CartLineFactory

pytestmark = pytest.mark.django_db


def ids(rules) -> set[int]:
    return set(segment_customers(rules=rules).values_list("pk", flat=True))


def born(years: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)


def test_age_between_counts_birthdays_exactly():
    turns_25_today = CustomerFactory(birth_date=born(25))
    almost_25 = CustomerFactory(birth_date=born(25) + dt.timedelta(days=1))
    forty = CustomerFactory(birth_date=born(40, days=200))
    forty_one = CustomerFactory(birth_date=born(41))
    CustomerFactory(birth_date=None)

    assert ids({"field": "age", "op": "between", "value": [25, 40]}) == {
        turns_25_today.pk,
        forty.pk,
    }
    assert ids({"field": "age", "op": "lt", "value": 25}) == {almost_25.pk}
    assert ids({"field": "age", "op": "gte", "value": 41}) == {forty_one.pk}


def test_profile_fields():
    store = StoreFactory(code="PAR01")
    camille = CustomerFactory(
        gender=Gender.FEMALE,
        postal_code="75011",
        preferred_store=store,
        language="fr",
        created_channel=Channel.STORE,
    )
    marc = CustomerFactory(
        gender=Gender.MALE, postal_code="69002", language="en", created_channel=Channel.APP
    )

    assert ids({"field": "gender", "op": "eq", "value": "f"}) == {camille.pk}
    assert ids({"field": "postal_code", "op": "startswith", "value": "69"}) == {marc.pk}
    assert ids({"field": "postal_code", "op": "startswith_any", "value": ["75", "69"]}) == {
        camille.pk,
        marc.pk,
    }
    assert ids({"field": "region", "op": "eq", "value": "ile-de-france"}) == {camille.pk}
    assert ids({"field": "region", "op": "in", "value": ["auvergne-rhone-alpes"]}) == {marc.pk}
    assert ids({"field": "preferred_store", "op": "eq", "value": "PAR01"}) == {camille.pk}
    assert ids({"field": "language", "op": "in", "value": ["en"]}) == {marc.pk}
    assert ids({"field": "signup_channel", "op": "eq", "value": "store"}) == {camille.pk}


def test_consent_per_channel():
    sms = CustomerFactory()
    consent(sms, "sms")
    withdrawn = CustomerFactory()
    consent(withdrawn, "sms", granted=False)
    never = CustomerFactory()

    assert ids({"field": "consent", "op": "granted", "value": "sms"}) == {sms.pk}
    assert ids({"field": "consent", "op": "not_granted", "value": "sms"}) == {
        withdrawn.pk,
        never.pk,
    }


def test_consent_on_any_of_several_channels_is_one_lookup():
    email = CustomerFactory()
    consent(email, "email")
    sms_and_push = CustomerFactory()
    consent(sms_and_push, "sms")
    consent(sms_and_push, "push")
    withdrawn = CustomerFactory()
    consent(withdrawn, "email", granted=False)
    never = CustomerFactory()
    either = {
        "any": [
            {"field": "consent", "op": "granted", "value": "email"},
            {"field": "age", "op": "gte", "value": 200},
            {"field": "consent", "op": "granted", "value": "sms"},
        ]
    }

    validate_rules(either)  # valid: nothing raised
    assert ids(either) == {email.pk, sms_and_push.pk}
    # The two consent rules compiled into one EXISTS over both channels (joined once).
    sql = str(segment_customers(rules=either).query)
    assert sql.count("customers_consentstate") == 1
    assert ids({"not": either}) == {withdrawn.pk, never.pk}
    mixed = {
        "any": [
            {"field": "consent", "op": "not_granted", "value": "email"},
            {"field": "consent", "op": "granted", "value": "push"},
        ]
    }
    assert ids(mixed) == {sms_and_push.pk, withdrawn.pk, never.pk}
    only_consents = {"any": [either["any"][0], either["any"][2]]}
    services.segment_create(name="E-mail or SMS", rules=only_consents)
    assert ids(only_consents) == {email.pk, sms_and_push.pk}
    with pytest.raises(SegmentRuleError) as error:
        validate_rules({"any": [either["any"][0], {"field": "consent", "op": "granted"}]})
    assert error.value.path == "any[1].value"


def test_orders_count_and_total_spent_with_a_window():
    loyal = CustomerFactory()
    for days_ago in (1, 10, 100):
        order_placed(days_ago=days_ago, customer=loyal, total=Decimal("100.00"))
    once = CustomerFactory()
    order_placed(days_ago=5, customer=once, total=Decimal("20.00"))
    order_placed(days_ago=5, customer=once, total=Decimal("500.00"), status="cancelled")
    never = CustomerFactory()

    assert ids({"field": "orders_count", "op": "gte", "value": 3}) == {loyal.pk}
    assert ids({"field": "orders_count", "op": "eq", "value": 0}) == {never.pk}
    assert ids({"field": "orders_count", "op": "eq", "value": 2, "days": 30}) == {loyal.pk}
    assert ids({"field": "total_spent", "op": "gte", "value": "300"}) == {loyal.pk}
    assert ids({"field": "total_spent", "op": "between", "value": [1, 50]}) == {once.pk}
    assert ids({"field": "total_spent", "op": "lt", "value": 150, "days": 7}) == {
        loyal.pk,
        once.pk,
        never.pk,
    }


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("lt", 2, {"once", "never"}),
        ("lte", 1, {"once", "never"}),
        ("eq", 0, {"never"}),
        ("between", [0, 1], {"once", "never"}),
        ("between", [1, 2], {"once"}),
        ("gt", 0, {"loyal", "once"}),
        ("gte", 3, {"loyal"}),
    ],
)
def test_order_counts_are_set_based_and_count_customers_without_orders_as_zero(op, value, expected):
    """Compiled as one GROUP BY joined to the customers (not a subquery per customer): a rule a
    customer without orders satisfies still selects her, also under "not" and inside "any", and
    an order without a customer (a guest's) changes nothing."""
    people = {"loyal": CustomerFactory(), "once": CustomerFactory(), "never": CustomerFactory()}
    for days_ago in (1, 2, 3):
        order_placed(days_ago=days_ago, customer=people["loyal"], total=Decimal("10.00"))
    order_placed(days_ago=4, customer=people["once"], total=Decimal("10.00"))
    order_placed(days_ago=4, customer=people["never"], total=Decimal("10.00"), status="cancelled")
    order_placed(days_ago=4, customer=None, total=Decimal("10.00"))
    everyone = {customer.pk for customer in people.values()}
    rule = {"field": "orders_count", "op": op, "value": value}

    assert ids(rule) == {people[name].pk for name in expected}
    assert ids({"not": rule}) == everyone - ids(rule)
    assert ids({"any": [rule, {"field": "postal_code", "op": "eq", "value": "none"}]}) == ids(rule)
    tens = [bound * 10 for bound in value] if op == "between" else value * 10
    assert ids({"field": "total_spent", "op": op, "value": tens}) == ids(rule)


def test_last_order_dates():
    today = timezone.localdate()
    recent = CustomerFactory()
    order_placed(days_ago=2, customer=recent)
    lapsed = CustomerFactory()
    order_placed(days_ago=200, customer=lapsed)
    CustomerFactory()  # never ordered: neither recent nor lapsed

    cutoff = (today - dt.timedelta(days=30)).isoformat()
    assert ids({"field": "last_order", "op": "before", "value": cutoff}) == {lapsed.pk}
    assert ids({"field": "last_order", "op": "after", "value": cutoff}) == {recent.pk}
    assert ids({"field": "last_order", "op": "within_days", "value": 30}) == {recent.pk}
    assert ids({"field": "last_order", "op": "not_within_days", "value": 90}) == {lapsed.pk}


def test_bought_product_category_and_channel():
    lipstick = VariantFactory(product=ProductFactory(category=CategoryFactory(slug="levres")))
    lips = lipstick.product.category
    child = CategoryFactory(slug="rouges", name="Rouges", parent=lips)
    red = VariantFactory(product=ProductFactory(category=child))
    in_store = CustomerFactory()
    bought(customer=in_store, variant=lipstick, days_ago=3, channel=Channel.STORE)
    online_long_ago = CustomerFactory()
    bought(customer=online_long_ago, variant=red, days_ago=90, channel=Channel.APP)

    product = lipstick.product_id
    assert ids({"field": "bought_product", "op": "in", "value": [product]}) == {in_store.pk}
    assert ids({"field": "bought_product", "op": "in", "value": [red.product_id], "days": 30}) == (
        set()
    )
    assert ids({"field": "bought_category", "op": "in", "value": ["levres"]}) == {
        in_store.pk,
        online_long_ago.pk,
    }
    assert ids({"field": "bought_channel", "op": "eq", "value": "store"}) == {in_store.pk}
    assert ids({"field": "bought_channel", "op": "eq", "value": "online"}) == {online_long_ago.pk}
    assert ids({"field": "bought_channel", "op": "eq", "value": "online", "days": 30}) == set()


def test_open_cart_idle_for_hours():
    idle = CartLineFactory(cart=CartFactory(status=CartStatus.ACTIVE)).cart
    idle.last_activity_at = timezone.now() - dt.timedelta(hours=5)
    idle.save(update_fields=["last_activity_at"])
    busy = CartLineFactory().cart  # just touched
    empty = CartFactory(last_activity_at=timezone.now() - dt.timedelta(days=2))

    assert ids({"field": "open_cart_idle_hours", "op": "gte", "value": 4}) == {idle.customer_id}
    assert busy.customer_id not in ids({"field": "open_cart_idle_hours", "op": "gte", "value": 1})
    assert empty.customer_id not in ids({"field": "open_cart_idle_hours", "op": "gte", "value": 1})


def test_rfm_scores():
    best = CustomerFactory()
    for days_ago in range(1, 9):  # 8 orders, the last yesterday, 8 x 150 spent
        order_placed(days_ago=days_ago, customer=best, total=Decimal("150.00"))
    dormant = CustomerFactory()
    order_placed(days_ago=400, customer=dormant, total=Decimal("10.00"))
    never = CustomerFactory()

    assert ids({"field": "rfm_score", "op": "eq", "value": 15}) == {best.pk}
    assert ids({"field": "rfm_score", "op": "eq", "value": 3}) == {dormant.pk, never.pk}
    assert ids({"field": "rfm_recency", "op": "gte", "value": 5}) == {best.pk}
    assert ids({"field": "rfm_monetary", "op": "between", "value": [4, 5]}) == {best.pk}


# Order histories around every threshold (days ago, total, cancelled): recency 30/90/180/365 days,
# frequency 8/4/2/1 orders and monetary 1000/400/150/1 spent in the last 365 days.
RFM_HISTORIES = [
    [],
    [(400, "10.00", False)],
    [(20, "99.00", True)],
    [(29.5, "0.50", False)],
    [(30.5, "150.00", False), (364, "250.00", False)],
    [(89, "399.99", False), (100, "0.01", False), (370, "900.00", False)],
    [(179, "1000.00", False)],
    [(181, "60.00", False)] * 4,
    [(364.5, "1.00", False)] * 2 + [(10, "500.00", True)],
    [(day, "150.00", False) for day in range(1, 9)],
    [(day * 40, "200.00", False) for day in range(1, 10)],
]


def test_rfm_segments_score_every_customer_as_the_360_view_does():
    """The RFM rule has two implementations, the segments' SQL and the 360° view's key figures:
    on histories around each threshold (cancelled orders not counted), they agree."""
    from orders.customer360 import customer_key_figures

    customers = []
    for history in RFM_HISTORIES:
        customer = CustomerFactory()
        for days_ago, total, cancelled in history:
            status = {"status": "cancelled"} if cancelled else {}
            order_placed(days_ago=days_ago, customer=customer, total=Decimal(total), **status)
        customers.append(customer)
    figures = {c.pk: customer_key_figures(customer=c) for c in customers}
    parts = {
        "rfm_score": lambda f: f.rfm_score,
        "rfm_recency": lambda f: f.recency,
        "rfm_frequency": lambda f: f.frequency,
        "rfm_monetary": lambda f: f.monetary,
    }
    seen = set()
    for field, part in parts.items():
        for value in sorted({part(f) for f in figures.values()}):
            expected = {pk for pk, f in figures.items() if part(f) == value}
            assert ids({"field": field, "op": "eq", "value": value}) == expected, (field, value)
            seen.add((field, value))
    # The histories reach every recency, frequency and monetary score, and scores from 3 to 15.
    assert {v for f, v in seen if f != "rfm_score"} == {1, 2, 3, 4, 5}
    assert {("rfm_score", 3), ("rfm_score", 15)} <= seen


def test_groups_all_any_not():
    paris_woman = CustomerFactory(gender=Gender.FEMALE, postal_code="75011")
    lyon_woman = CustomerFactory(gender=Gender.FEMALE, postal_code="69002")
    paris_man = CustomerFactory(gender=Gender.MALE, postal_code="75002")

    women = {"field": "gender", "op": "eq", "value": "f"}
    paris = {"field": "postal_code", "op": "startswith", "value": "75"}
    assert ids({"all": [women, paris]}) == {paris_woman.pk}
    assert ids({"any": [women, paris]}) == {paris_woman.pk, lyon_woman.pk, paris_man.pk}
    assert ids({"all": [women, {"not": paris}]}) == {lyon_woman.pk}
    assert ids({"not": {"any": [women, paris]}}) == set()


def test_merged_and_erased_profiles_are_never_members():
    live = CustomerFactory(gender=Gender.FEMALE)
    CustomerFactory(gender=Gender.FEMALE, erased_at=timezone.now())
    CustomerFactory(gender=Gender.FEMALE, merged_into=live)

    assert ids({"field": "gender", "op": "eq", "value": "f"}) == {live.pk}


def test_a_segment_is_one_query_with_count_and_sample():
    for _ in range(3):
        customer = CustomerFactory(gender=Gender.FEMALE)
        consent(customer, "email")
        order_placed(days_ago=3, customer=customer)
    rules = {
        "all": [
            {"field": "gender", "op": "eq", "value": "f"},
            {"field": "consent", "op": "granted", "value": "email"},
            {
                "any": [
                    {"field": "orders_count", "op": "gte", "value": 1},
                    {"field": "rfm_score", "op": "gte", "value": 12},
                ]
            },
        ]
    }
    with CaptureQueriesContext(connection) as queries:
        count = segment_count(rules=rules)
    assert (count, len(queries)) == (3, 1)
    with CaptureQueriesContext(connection) as queries:
        sample = segment_sample(rules=rules, size=2)
    assert (len(sample), len(queries)) == (2, 1)
    assert sample[0].pk < sample[1].pk


@pytest.mark.parametrize(
    ("rules", "path", "reason"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 38}, "field", "unknown field 'shoe_size'"),
        ({"field": "age", "op": "startswith", "value": 3}, "op", "operator 'startswith'"),
        ({"field": "age", "op": "gte", "value": "thirty"}, "value", "expected a whole number"),
        ({"field": "age", "op": "gte", "value": True}, "value", "expected a whole number"),
        ({"field": "age", "op": "between", "value": [40, 25]}, "value", "minimum is above"),
        ({"field": "age", "op": "gte"}, "value", "a value is required"),
        ({"field": "gender", "op": "eq", "value": "z"}, "value", "expected one of"),
        ({"field": "last_order", "op": "before", "value": "31/12/2025"}, "value", "YYYY-MM-DD"),
        ({"field": "total_spent", "op": "gte", "value": "lots"}, "value", "expected an amount"),
        ({"field": "orders_count", "op": "gte", "value": 1, "days": -3}, "days", "at least 0"),
        ({"field": "orders_count", "op": "gte", "value": 1, "weeks": 3}, "weeks", "unknown param"),
        (
            {"all": [{"field": "age", "op": "gte", "value": 18}, {"any": [{"field": "x"}]}]},
            "all[1].any[0].field",
            "unknown field 'x'",
        ),
        ({"not": {"field": "consent", "op": "granted", "value": "fax"}}, "not.value", "one of"),
        ({"all": []}, "all", "non-empty list"),
        ({"all": [], "any": []}, "rules", "exactly one key"),
        ([], "rules", "expected an object"),
    ],
)
def test_invalid_rules_are_refused_naming_the_rule(rules, path, reason):
    with pytest.raises(SegmentRuleError) as error:
        validate_rules(rules)

    assert error.value.path == path
    assert reason in error.value.reason
    assert str(error.value.messages[0]).startswith(f"{path}: ")


def test_segment_create_refuses_invalid_rules_and_writes_nothing():
    with pytest.raises(SegmentRuleError):
        services.segment_create(name="Bad", rules={"field": "nope", "op": "eq", "value": 1})

    assert Segment.objects.count() == 0


def test_segment_update_keeps_old_rules_when_new_ones_are_invalid():
    segment = services.segment_create(
        name="Women", rules={"field": "gender", "op": "eq", "value": "f"}
    )

    with pytest.raises(SegmentRuleError):
        services.segment_update(segment=segment, rules={"all": [{"field": "age", "op": "gte"}]})

    segment.refresh_from_db()
    assert segment.rules == {"field": "gender", "op": "eq", "value": "f"}
