"""URLs of bench/checkout.py's gunicorn: the project's, plus POST /bench/insert-one/, a DRF
endpoint with the same customer authentication as checkout that inserts one row."""

import uuid

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.auth import CustomerTokenAuthentication, IsCustomer, request_customer
from omni.urls import urlpatterns as project_urlpatterns
from orders.models import CheckoutRequest


class InsertOneApi(APIView):
    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsCustomer]

    def post(self, request: Request) -> Response:
        row = CheckoutRequest.objects.create(
            scope=f"bench:{request_customer(request).pk}", key=uuid.uuid4().hex, request_hash=""
        )
        return Response({"id": row.pk}, status=201)


urlpatterns = [path("bench/insert-one/", InsertOneApi.as_view()), *project_urlpatterns]
