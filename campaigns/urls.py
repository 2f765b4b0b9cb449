"""URLs of the campaigns staff screens; the API's are in campaigns/api.py."""

app_name = "campaigns"

# Staff screens, included at the site root under the "campaigns" namespace.
urlpatterns: list = []
