"""The orders screens listed on the staff area pages (see omni/navigation.py)."""

from omni.navigation import ScreenLink

# The customer's cart (orders:customer-cart) opens from a customer's page, never on its own.
SCREENS: list[ScreenLink] = []
