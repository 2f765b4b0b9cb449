"""OpenAPI schema generation tweaks shared by every app."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

WRITES = ("POST", "PUT", "PATCH", "DELETE")


class ErrorOutput(serializers.Serializer):
    """Every error of the API has this shape (omni.api.exception_handler)."""

    code = serializers.CharField(
        help_text=_(
            "What went wrong, for code: invalid, not_authenticated, permission_denied, "
            "not_found, throttled, or the business rule refused (insufficient_stock, ...)."
        )
    )
    detail = serializers.CharField(help_text=_("The same, for people, in the request's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=_("With code invalid: the messages of each field at fault."),
    )


class OmniAutoSchema(AutoSchema):
    """Names nested serializers after their view: `OrderCancelApi.OutputSerializer` becomes the
    component `OrderCancelOutput`, so the many views that nest an `OutputSerializer` (the house
    style) do not collide in the schema.

    Documents the errors an operation can answer, each with the one error shape (`Error`): 400
    (bad input, or an address holding a NUL), 401 and 403 where a caller must be signed in, 404
    with a path parameter, 409 for a write a business rule can refuse (stock, status), 415 for
    a body in another format, 429 when throttled, and what a view adds in `error_statuses`
    (e.g. the checkout's 422 for a reused Idempotency-Key)."""

    def get_serializer_name(self, serializer, direction):
        qualified = type(serializer).__qualname__
        if "." not in qualified:
            return super().get_serializer_name(serializer, direction)
        owner, name = qualified.split(".")[-2:]
        owner = owner.removesuffix("Api").removesuffix("View")
        return f"{owner}{name.removesuffix('Serializer')}"

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction != "response":
            return bodies
        for status, description in self._error_statuses().items():
            response = OpenApiResponse(ErrorOutput, description=description)
            bodies.setdefault(
                str(status), self._get_response_for_code(response, str(status), direction=direction)
            )
        return bodies

    def _error_statuses(self) -> dict[int, str]:
        view = self.view
        statuses = {400: _("Invalid input: the fields at fault, with their messages.")}
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            statuses[401] = _("No credentials, or credentials that are not valid.")
            statuses[403] = _("These credentials may not do this.")
        if "{" in self.path:
            statuses[404] = _("Nothing here by this name (or not yours).")
        elif self.method == "GET" and self._is_list_view():
            statuses[404] = _("No such page of the list.")
        if self.method in WRITES:
            statuses[409] = _("A business rule refuses it as things stand (stock, status, ...).")
        if self.method in ("POST", "PUT", "PATCH"):
            statuses[415] = _("The body is not in a format the API reads (JSON, form).")
        if view.get_throttles():
            statuses[429] = _("Too many requests: try again after Retry-After seconds.")
        statuses.update(getattr(view, "error_statuses", {}))
        return statuses
