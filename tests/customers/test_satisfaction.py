"""Satisfaction: a signed single-use survey link answered without login, and CSAT."""

import time
from datetime import datetime
from decimal import Decimal
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from customers import satisfaction, services
from customers.links import unsubscribe_token
from customers.models import Channel, ContactChannel, SurveyAnswer
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import StoreFactory

pytestmark = pytest.mark.django_db


def link_for(customer, order_number="W-1001", store=None, channel=Channel.WEB) -> str:
    """The path of the survey link (what the test client requests)."""
    link = satisfaction.survey_link(
        customer=customer, order_number=order_number, store=store, channel=channel
    )
    return urlsplit(link).path


def test_the_link_is_signed_and_names_customer_order_store_and_channel():
    lea, store = CustomerFactory(), StoreFactory()

    path = link_for(lea, "S-2001", store, Channel.STORE)
    token = path.removeprefix("/survey/").removesuffix("/")

    assert path.startswith("/survey/")
    assert satisfaction.read_survey_token(token) == (lea.pk, "S-2001", store.pk, "store")
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="another purpose")


@override_settings(OMNI_PUBLIC_URL="https://omni.example.com/")
def test_the_link_is_on_the_public_address():
    link = satisfaction.survey_link(customer=CustomerFactory(), order_number="W-1", channel="web")

    assert link.startswith("https://omni.example.com/survey/")


def test_the_customer_answers_once_without_logging_in(client):
    lea, store = CustomerFactory(), StoreFactory()
    path = link_for(lea, "S-2001", store, Channel.STORE)

    form = client.get(path)
    answered = client.post(path, {"score": "4", "comment": " Friendly staff "})
    again = client.post(path, {"score": "1", "comment": "changed my mind"})
    reopened = client.get(path)

    assert form.status_code == 200
    assert "S-2001" in form.content.decode()
    assert answered.status_code == 200
    assert "Thank you for your answer" in answered.content.decode()
    assert (again.status_code, reopened.status_code) == (409, 409)
    assert "already answered" in again.content.decode()
    answer = SurveyAnswer.objects.get()
    assert (
        answer.customer,
        answer.order_number,
        answer.store,
        answer.channel,
        answer.score,
        answer.comment,
    ) == (lea, "S-2001", store, "store", 4, "Friendly staff")


def test_the_service_refuses_a_second_answer():
    link = satisfaction.read_survey_token(
        satisfaction.survey_token(customer=CustomerFactory(), order_number="W-1", channel="web")
    )
    services.survey_answer_record(link=link, score=5)

    with pytest.raises(services.SurveyAlreadyAnswered):
        services.survey_answer_record(link=link, score=1)

    assert list(SurveyAnswer.objects.values_list("score", flat=True)) == [5]


@pytest.mark.parametrize("score", ["0", "6", "", "five"])
def test_a_score_outside_one_to_five_is_refused(client, score):
    path = link_for(CustomerFactory())

    response = client.post(path, {"score": score})

    assert response.status_code == 400
    assert not SurveyAnswer.objects.exists()


def test_a_forged_link_is_a_400_page_and_records_nothing(client):
    lea = CustomerFactory()
    token = satisfaction.survey_token(customer=lea, order_number="W-1", channel="web")
    _payload, signature = token.split(":", 1)
    tampered = satisfaction.survey_token(customer=lea, order_number="W-2", channel="web")
    forged_paths = [
        reverse("customers:survey", args=[f"{tampered.split(':', 1)[0]}:{signature}"]),
        reverse("customers:survey", args=["AAAAforged"]),
        # A valid token signed for another purpose is worthless here.
        reverse(
            "customers:survey",
            args=[unsubscribe_token(customer=lea, channel=ContactChannel.EMAIL)],
        ),
    ]

    for path in forged_paths:
        for response in (client.get(path), client.post(path, {"score": "5"})):
            assert response.status_code == 400
            assert "not valid" in response.content.decode()
    assert not SurveyAnswer.objects.exists()


def test_an_expired_link_is_a_400_page_and_records_nothing(client):
    lea = CustomerFactory()
    long_ago = time.time() - 31 * 86_400
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        path = link_for(lea)

    response = client.post(path, {"score": "5"})

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not SurveyAnswer.objects.exists()


def test_a_link_still_valid_within_its_max_age(client):
    lea = CustomerFactory()
    recently = time.time() - 29 * 86_400
    with mock.patch("django.core.signing.time.time", return_value=recently):
        path = link_for(lea)

    assert client.post(path, {"score": "5"}).status_code == 200


def test_the_answer_of_a_merged_profile_goes_to_the_winner(client):
    winner, loser = CustomerFactory(), CustomerFactory()
    path = link_for(loser)
    services.customer_merge(winner=winner, loser=loser, performed_by=None)

    client.post(path, {"score": "3"})

    assert SurveyAnswer.objects.get().customer == winner


def test_an_erased_customer_cannot_answer(client):
    lea = CustomerFactory()
    path = link_for(lea)
    services.customer_erase(customer=lea, performed_by=None, reason="request")

    response = client.post(path, {"score": "3"})

    assert response.status_code == 400
    assert not SurveyAnswer.objects.exists()


# --- CSAT ---------------------------------------------------------------------------------------
def at(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day))


def answer(number, score, *, store=None, channel=Channel.STORE, day="2025-03-10"):
    return SurveyAnswer.objects.create(
        customer=CustomerFactory(),
        order_number=number,
        store=store,
        channel=channel,
        score=score,
        answered_at=at(day),
    )


@pytest.fixture
def answers():
    paris, lyon = StoreFactory(code="PAR01"), StoreFactory(code="LYO01")
    answer("S-1", 5, store=paris, day="2025-02-03")
    answer("S-2", 4, store=paris, day="2025-03-10")
    answer("S-3", 2, store=paris, day="2025-03-11")
    answer("S-4", 1, store=lyon, day="2025-03-12")
    answer("W-5", 5, channel=Channel.WEB, day="2025-03-20")
    answer("W-6", 3, channel=Channel.WEB, day="2025-03-21")
    answer("A-7", 4, channel=Channel.APP, day="2025-03-31 23:00")
    answer("W-8", 1, channel=Channel.WEB, day="2025-04-01")  # outside the period
    answer("W-9", 1, channel=Channel.WEB, day="2025-01-31")  # outside the period


PERIOD = {"since": at("2025-02-01"), "until": at("2025-04-01")}


def test_csat_per_store(answers, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = satisfaction.csat(**PERIOD, group_by="store")

    assert rows == [
        ("LYO01", 1, 0, Decimal("0.0")),
        ("PAR01", 3, 2, Decimal("66.7")),
        (None, 3, 2, Decimal("66.7")),  # web and app answers have no store
    ]


def test_csat_per_channel(answers, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = satisfaction.csat(**PERIOD, group_by="channel")

    assert rows == [
        ("app", 1, 1, Decimal("100.0")),
        ("store", 4, 2, Decimal("50.0")),
        ("web", 2, 1, Decimal("50.0")),
    ]


def test_csat_per_month(answers, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = satisfaction.csat(**PERIOD, group_by="month")

    assert [(row.key.isoformat(), *row[1:]) for row in rows] == [
        ("2025-02-01", 1, 1, Decimal("100.0")),
        ("2025-03-01", 6, 3, Decimal("50.0")),
    ]


def test_csat_refuses_an_unknown_grouping():
    with pytest.raises(ValueError, match="group_by"):
        satisfaction.csat(**PERIOD, group_by="weather")


def test_erasure_blanks_the_comment_and_keeps_the_score(client):
    lea = CustomerFactory()
    client.post(link_for(lea), {"score": "2", "comment": "My neighbour Jean was rude"})

    services.customer_erase(customer=lea, performed_by=None, reason="request")

    assert list(SurveyAnswer.objects.values_list("score", "comment")) == [(2, "")]
