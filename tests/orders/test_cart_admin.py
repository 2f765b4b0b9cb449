"""The cart admin: searchable by the customer's email or phone, lines and trail shown."""

import pytest
from django.urls import reverse

from customers.models import Channel
from orders import services
from tests.customers.factories import CustomerFactory
from tests.inventory.factories import VariantFactory
from tests.orders.factories import CartFactory

pytestmark = pytest.mark.django_db


def test_agents_find_a_cart_by_email_or_phone_and_see_its_trail(admin_client):
    customer = CustomerFactory(email="lea.dupont@example.fr", phone="+33612340000")
    cart = CartFactory(customer=customer)
    services.cart_add_line(
        cart=cart, variant=VariantFactory(sku="ROBE-9"), quantity=1, channel=Channel.APP
    )
    CartFactory()
    changelist = reverse("admin:orders_cart_changelist")

    by_email = admin_client.get(changelist, {"q": "lea.dupont"})
    by_phone = admin_client.get(changelist, {"q": "+33612340000"})
    page = admin_client.get(reverse("admin:orders_cart_change", args=[cart.pk]))

    assert [c.pk for c in by_email.context["cl"].result_list] == [cart.pk]
    assert [c.pk for c in by_phone.context["cl"].result_list] == [cart.pk]
    assert page.status_code == 200
    assert "ROBE-9" in page.content.decode()
    assert cart.token not in page.content.decode()
