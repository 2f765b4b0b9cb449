"""The API root: links to every resource of a version.

Kept apart from omni/api.py, which DRF imports while loading its own settings.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRoot(APIView):
    """Entry point of version 1 of the API: links to every resource."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        from omni.urls import API_V1_ROOT_LINKS

        links = {
            name: reverse(f"{request.version}:{route}", request=request)
            for name, route in API_V1_ROOT_LINKS.items()
        }
        links["schema"] = reverse("schema", request=request)
        links["docs"] = reverse("docs", request=request)
        return Response(links)


class PingApi(APIView):
    """A constant answer: the baseline benchmarks compare real endpoints with."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"pong": True})
