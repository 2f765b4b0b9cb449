"""URLs of the orders app.

`api_patterns` go under /api/v1/; `screen_patterns` under the staff screens.
"""

app_name = "orders"

# Included under /api/v1/ (namespace "v1"); names appear in the API root when listed in API_ROOT.
api_patterns: list = []
API_ROOT: dict[str, str] = {}

# Staff screens, included at the site root under the "orders" namespace.
screen_patterns: list = []
urlpatterns = screen_patterns
