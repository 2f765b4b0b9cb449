#!/usr/bin/env python
"""Django's command-line utility for Omni."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    from django.core.management import execute_from_command_line

    from omni.env import EnvError

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018  (load settings now: a bad variable fails here)
    except EnvError as exc:
        sys.exit(f"omni: configuration error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
