"""URLs of the inventory staff screens; the API's are in inventory/api.py."""

app_name = "inventory"

# Staff screens, included at the site root under the "inventory" namespace.
urlpatterns: list = []
