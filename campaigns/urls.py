"""URLs of the campaigns app.

`api_patterns` go under /api/v1/; `screen_patterns` under the staff screens.
"""

app_name = "campaigns"

# Included under /api/v1/ (namespace "v1"); names appear in the API root when listed in API_ROOT.
api_patterns: list = []
API_ROOT: dict[str, str] = {}

# Staff screens, included at the site root under the "campaigns" namespace.
screen_patterns: list = []
urlpatterns = screen_patterns
