"""URLs of the customers staff screens; the API's are in customers/api.py."""

app_name = "customers"

# Staff screens, included at the site root under the "customers" namespace.
urlpatterns: list = []
