"""URLs of the orders staff screens; the API's are in orders/api.py."""

app_name = "orders"

# Staff screens, included at the site root under the "orders" namespace.
urlpatterns: list = []
