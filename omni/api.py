"""API plumbing shared by every app: error format, pagination, the API root."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from omni.db import rows_where
from omni.exceptions import DomainError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class LookupField(serializers.SlugRelatedField):
    """A row named by one of its fields (a SKU, a store code), its value checked before the
    lookup: a NUL character, which PostgreSQL text cannot hold, is a field error, not a failed
    query and a server error.

    A field declared with its queryset runs a statement compiled once per declaration
    (`omni.db.rows_where`): compiling it through the ORM on every request cost the checkout
    more than PostgreSQL took to find its store.
    """

    default_error_messages = {"null_characters": gettext_lazy("Null characters are not allowed.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        if isinstance(data, str) and self._declared_queryset():
            try:
                rows = rows_where(
                    self.queryset,
                    self.slug_field,
                    data,
                    key=(type(self.parent), self.field_name, self.slug_field),
                )
            except (TypeError, ValueError):
                self.fail("invalid")
            if rows is not None and len(rows) == 1:
                return rows[0]
            if rows == []:
                self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)  # several rows: the ORM raises as it does

    def _declared_queryset(self) -> bool:
        """The rows come from the declared queryset, the same on every request."""
        return self.queryset is not None and type(self).get_queryset is LookupField.get_queryset


def _error_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return "invalid" if isinstance(exc, exceptions.ValidationError) else exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every error as {"code", "detail", "fields"?}: one shape for the whole API."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "code": "invalid",
            "detail": _("The request has invalid fields."),
            "fields": fields,
        }
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"code": _error_code(exc), "detail": str(detail)}
    return response
