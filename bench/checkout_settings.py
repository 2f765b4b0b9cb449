"""Settings of bench/checkout.py's gunicorn: the project's, plus a baseline endpoint that only
inserts one row (bench/checkout_urls.py). Never used outside the benchmark."""

from omni.settings import *  # noqa: F403

ROOT_URLCONF = "checkout_urls"
