"""Middleware of the project: requests refused before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RejectNulCharacters:
    """Answer 400 to a request whose path or query string holds a NUL character.

    PostgreSQL text cannot hold one: a view looking a row up by such a path parameter (an order
    number, a SKU, a cart token) or query parameter would fail with a server error instead of a
    clear answer. Bodies are checked by their forms and serializers (omni.api.LookupField).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "%00" in query or "\x00" in query:
            detail = _("The address holds a NUL character, which no field accepts.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": detail}, status=400)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
