from django.http import HttpRequest

from omni.navigation import items_for


def navigation(request: HttpRequest) -> dict:
    """Expose the user's navigation to every staff template."""
    return {"navigation": items_for(request.user)}
