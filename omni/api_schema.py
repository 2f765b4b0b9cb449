"""OpenAPI schema generation tweaks shared by every app."""

from drf_spectacular.openapi import AutoSchema


class OmniAutoSchema(AutoSchema):
    """Names nested serializers after their view: `OrderCancelApi.OutputSerializer` becomes the
    component `OrderCancelOutput`, so the many views that nest an `OutputSerializer` (the house
    style) do not collide in the schema."""

    def get_serializer_name(self, serializer, direction):
        qualified = type(serializer).__qualname__
        if "." not in qualified:
            return super().get_serializer_name(serializer, direction)
        owner, name = qualified.split(".")[-2:]
        owner = owner.removesuffix("Api").removesuffix("View")
        return f"{owner}{name.removesuffix('Serializer')}"
