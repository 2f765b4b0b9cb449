"""The campaigns API: one APIView per operation (see docs/architecture.md)."""

# Mounted under /api/v1/ by omni/urls.py; names listed in API_ROOT appear in the API root.
urlpatterns: list = []
API_ROOT: dict[str, str] = {}
