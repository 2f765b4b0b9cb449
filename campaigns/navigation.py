"""The campaigns screens listed on the staff area pages (see omni/navigation.py)."""

from omni.navigation import ScreenLink

SCREENS: list[ScreenLink] = []
