"""Merging two profiles of one person: everything moves, nothing is lost, an audit row stays."""

import pytest

from customers import merge, services
from customers.exceptions import MergeRefused
from customers.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    ContactChannel,
    Customer,
    CustomerMerge,
)
from customers.services.merging import merge_consent_states
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

WEB = services.ConsentSource(channel=Channel.WEB)


def test_merge_moves_every_related_row_and_keeps_the_loser_as_a_tombstone(django_user_model):
    agent = django_user_model.objects.create_user("agent")
    winner = CustomerFactory(phone=None, first_name="Camille")
    loser = CustomerFactory(phone="+33611223344", card_number="OMNI0000000009")
    services.consent_grant(customer=winner, channel=ContactChannel.EMAIL, source=WEB)
    services.consent_grant(customer=loser, channel=ContactChannel.SMS, source=WEB)
    services.consent_withdraw(customer=loser, channel=ContactChannel.SMS, source=WEB)
    loser_email = loser.email

    record = services.customer_merge(
        winner=winner, loser=loser, performed_by=agent, reason="same person"
    )

    winner.refresh_from_db()
    loser.refresh_from_db()
    assert ConsentEvent.objects.filter(customer=winner).count() == 3
    assert ConsentEvent.objects.filter(customer=loser).count() == 0
    states = dict(ConsentState.objects.filter(customer=winner).values_list("channel", "granted"))
    assert states == {"email": True, "sms": False}
    assert winner.phone == "+33611223344"  # the winner lacked it: taken from the loser
    assert (loser.merged_into_id, loser.email, loser.phone, loser.card_number) == (
        winner.pk,
        None,
        None,
        None,
    )
    assert record.loser_snapshot["email"] == loser_email
    assert record.moved == {"customers.ConsentEvent.customer": 2}
    assert (record.performed_by, record.reason, record.left) == (agent, "same person", {})


def test_merging_a_profile_into_itself_is_refused():
    customer = CustomerFactory()

    with pytest.raises(MergeRefused):
        services.customer_merge(winner=customer, loser=customer, performed_by=None)

    assert CustomerMerge.objects.count() == 0


def test_a_merged_profile_cannot_be_merged_again():
    winner, loser, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    services.customer_merge(winner=winner, loser=loser, performed_by=None)

    with pytest.raises(MergeRefused):
        services.customer_merge(winner=third, loser=loser, performed_by=None)

    assert CustomerMerge.objects.count() == 1


def test_the_more_recent_consent_decision_wins_per_channel():
    winner, loser = CustomerFactory(), CustomerFactory()
    services.consent_grant(customer=winner, channel=ContactChannel.EMAIL, source=WEB)
    services.consent_withdraw(customer=loser, channel=ContactChannel.EMAIL, source=WEB)

    services.customer_merge(winner=winner, loser=loser, performed_by=None)

    state = ConsentState.objects.get(customer=winner, channel=ContactChannel.EMAIL)
    assert (state.granted, state.reason) == (False, "unsubscribed")
    assert not ConsentState.objects.filter(customer=loser).exists()


def test_hooks_run_first_in_the_merge_transaction():
    calls = []

    def hook(*, winner, loser, performed_by):
        calls.append((winner.pk, loser.pk, ConsentEvent.objects.filter(customer=loser).count()))

    winner, loser = CustomerFactory(), CustomerFactory()
    services.consent_grant(customer=loser, channel=ContactChannel.EMAIL, source=WEB)
    merge.register_merge_hook(hook)
    try:
        services.customer_merge(winner=winner, loser=loser, performed_by=None)
    finally:
        merge.unregister_merge_hook(hook)

    assert calls == [(winner.pk, loser.pk, 1)]  # before the generic move


def test_a_failing_hook_rolls_the_whole_merge_back():
    def hook(*, winner, loser, performed_by):
        raise MergeRefused("carts cannot be combined")

    winner, loser = CustomerFactory(), CustomerFactory()
    services.consent_grant(customer=loser, channel=ContactChannel.EMAIL, source=WEB)
    merge.register_merge_hook(hook)
    try:
        with pytest.raises(MergeRefused):
            services.customer_merge(winner=winner, loser=loser, performed_by=None)
    finally:
        merge.unregister_merge_hook(hook)

    loser.refresh_from_db()
    assert loser.merged_into_id is None
    assert ConsentEvent.objects.filter(customer=loser).count() == 1
    assert CustomerMerge.objects.count() == 0


def test_without_a_hook_rows_a_unique_constraint_holds_stay_on_the_tombstone():
    winner, loser = CustomerFactory(), CustomerFactory()
    for customer in (winner, loser):
        services.consent_grant(customer=customer, channel=ContactChannel.EMAIL, source=WEB)
    services.consent_grant(customer=loser, channel=ContactChannel.SMS, source=WEB)
    merge.unregister_merge_hook(merge_consent_states)
    try:
        record = services.customer_merge(winner=winner, loser=loser, performed_by=None)
    finally:
        merge.register_merge_hook(merge_consent_states)

    assert record.moved["customers.ConsentState.customer"] == 1  # sms moved
    assert record.left == {"customers.ConsentState.customer": 1}  # email clashed: kept
    assert ConsentState.objects.filter(customer=loser, channel="email").exists()
    assert Customer.objects.count() == 2


def test_relations_are_discovered_generically():
    labels = {merge.relation_label(field) for field in merge.customer_foreign_keys()}

    assert {"customers.ConsentEvent.customer", "customers.ConsentState.customer"} <= labels
    assert not labels & merge.STAYS
