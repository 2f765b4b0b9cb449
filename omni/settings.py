"""Omni settings: the only settings module, configured by environment variables.

Every variable is documented in README.md. Development defaults need no network service (an
embedded PostgreSQL that `run_all` starts, and Celery's file-system transport, both under var/);
`DJANGO_ENV=production` turns on the checks that a real deployment must pass.
"""

import os
from pathlib import Path

from corsheaders.defaults import default_headers as cors_default_headers
from django.utils.translation import gettext_lazy as _

from omni.env import EnvError, env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OMNI_VAR_DIR", str(BASE_DIR / "var")))

DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise EnvError(f"DJANGO_ENV must be development, test or production, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", default=False)
if DEBUG and PRODUCTION:
    raise EnvError("DJANGO_DEBUG must be off when DJANGO_ENV=production")

_DEV_SECRET = "omni-development-only-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY == _DEV_SECRET):
    raise EnvError("DJANGO_SECRET_KEY must be a random string of at least 50 characters")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise EnvError("DJANGO_ALLOWED_HOSTS is required when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "corsheaders",
    "inventory",
    "customers",
    "orders",
    "campaigns",
    "demo",
    # Last, so its post_migrate hook sees every other app's permissions.
    "omni",
]

MIDDLEWARE = [
    # First, so that its answers (a preflight) and every later one carry the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "omni.middleware.RejectNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "omni.urls"
WSGI_APPLICATION = "omni.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "omni.context_processors.navigation",
            ],
        },
    },
]

# With no DATABASE_URL, `make run` starts an embedded PostgreSQL on this port (omni.devservices).
EMBEDDED_POSTGRES = not os.environ.get("DATABASE_URL")
EMBEDDED_PG_PORT = env_int("OMNI_EMBEDDED_PG_PORT", 55432)
DATABASES = {
    "default": env_database(
        "DATABASE_URL", f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/omni"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ATOMIC_REQUESTS = False  # services own their transactions

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "omni" / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION  # development serves static files without collectstatic
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
_REDIS_CACHE = env_str("CACHE_URL", "")
if _REDIS_CACHE:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _REDIS_CACHE,
    }

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Omni <no-reply@omni.example>")

# The web shop's page where a shopper resumes a cart from a signed link sent by a salesperson.
OMNI_SHOP_CART_URL = env_str("OMNI_SHOP_CART_URL", "https://shop.omni.example/cart/resume")

# Which locations serve a delivery order, and in what order (inventory/allocation.py).
OMNI_ALLOCATION_STRATEGY = env_str(
    "OMNI_ALLOCATION_STRATEGY", "inventory.allocation.FewestFulfilmentsStrategy"
)

# --- Outgoing messages (omni/messaging) -------------------------------------------------------
# Backend per channel; options per channel are passed to the backend (url, token, path...).
_MESSAGING_DEV = "omni.messaging.backends.ConsoleBackend"
OMNI_MESSAGING_BACKENDS = {
    "email": env_str("OMNI_EMAIL_BACKEND", "omni.messaging.backends.EmailBackend"),
    "sms": env_str("OMNI_SMS_BACKEND", _MESSAGING_DEV),
    "push": env_str("OMNI_PUSH_BACKEND", _MESSAGING_DEV),
}
OMNI_MESSAGING_OPTIONS: dict[str, dict] = {
    "sms": {"url": env_str("OMNI_SMS_URL", ""), "token": env_str("OMNI_SMS_TOKEN", "")},
    "push": {"url": env_str("OMNI_PUSH_URL", ""), "token": env_str("OMNI_PUSH_TOKEN", "")},
}
# The file sink of omni.messaging.backends.FileBackend, for every channel (tests, demos): set it
# to count what a separate worker process sent.
OMNI_MESSAGING_FILE = env_str("OMNI_MESSAGING_FILE", "")
if OMNI_MESSAGING_FILE:
    for _channel in ("email", "sms", "push"):
        OMNI_MESSAGING_OPTIONS.setdefault(_channel, {})["path"] = OMNI_MESSAGING_FILE
# omni.messaging.sink.SinkBackend, a provider stand-in in Redis that delivers each idempotency
# key once and counts attempts and deliveries (the worker-crash test): where it records, its
# answer latency, and the delivery whose answer never comes (0: none).
OMNI_MESSAGING_SINK = {
    "url": env_str("OMNI_MESSAGING_SINK_URL", ""),
    "name": env_str("OMNI_MESSAGING_SINK_NAME", "outbox"),
    "latency_ms": env_int("OMNI_MESSAGING_SINK_LATENCY_MS", 0),
    "stall_after": env_int("OMNI_MESSAGING_SINK_STALL_AFTER", 0),
}

# Click-and-collect: days a ready order waits at the store before it expires.
OMNI_PICKUP_DAYS = env_int("OMNI_PICKUP_DAYS", 7)

# --- Loyalty and satisfaction (customers/loyalty, customers/satisfaction) ----------------------
# One rule set for every channel. Amounts are euros; read as Decimal(str(value)).
OMNI_LOYALTY_POINTS_PER_EURO = env_str("OMNI_LOYALTY_POINTS_PER_EURO", "1")
OMNI_LOYALTY_POINT_VALUE = env_str("OMNI_LOYALTY_POINT_VALUE", "0.05")  # 100 points = 5 euros
# Tier by spend over the last 12 months: the highest threshold reached.
OMNI_LOYALTY_TIERS = {"bronze": "0", "silver": "300", "gold": "1000"}
# Seconds a post-purchase survey link stays valid (30 days).
OMNI_SURVEY_LINK_MAX_AGE = env_int("OMNI_SURVEY_LINK_MAX_AGE", 30 * 86_400)
# Survey links are prefixed with OMNI_PUBLIC_URL (set in the campaigns block below).

# --- Celery -----------------------------------------------------------------------------------
# The embedded broker (`make run`): its folders are the transport options below. The host is
# only named so kombu does not warn that it had to pick one.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "amqp", "amqps"}:
    raise EnvError(
        "CELERY_BROKER_URL must be a filesystem://, redis:// or amqp:// URL, "
        f"got {CELERY_BROKER_URL!r}"
    )
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Broadcasts (worker pings, remote control) go here, not into the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # acks_late on Redis: a task taken by a worker that died (never acknowledged) goes back to
    # its queue once this many seconds have passed since it was taken, when a worker starts or
    # sweeps. Keep it above the longest task: a live worker's task would be handed out twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent; a worker that dies gives its task back
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "omni")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {
    # Held stock whose reservation has run out goes back on sale within a minute.
    "inventory-release-expired-reservations": {
        "task": "inventory.release_expired_reservations",
        "schedule": 60.0,
    },
    # Order notifications whose task was lost, or whose worker died mid-send, are sent again.
    "orders-sweep-notifications": {"task": "orders.sweep_notifications", "schedule": 60.0},
    # Ready pickups past their deadline give their stock back within five minutes.
    "orders-expire-overdue-pickups": {"task": "orders.expire_overdue_pickups", "schedule": 300.0},
    # A reminder the day before a pickup expires (the reminder window is a day wide).
    "orders-send-pickup-reminders": {"task": "orders.send_pickup_reminders", "schedule": 900.0},
}

# --- API --------------------------------------------------------------------------------------
# The web shop's pages call the API from the shopper's browser: only these origins may
# (scheme://host[:port], comma-separated; none by default), and only under /api/. No cookies:
# the API's callers authenticate with a header.
CORS_ALLOWED_ORIGINS = env_list("API_CORS_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "x-omni-channel")
CORS_EXPOSE_HEADERS = ["retry-after"]
CORS_ALLOW_CREDENTIALS = False

TRUSTED_PROXIES = env_int("API_TRUSTED_PROXIES", 0)
if not 0 <= TRUSTED_PROXIES <= 10:
    raise EnvError(f"API_TRUSTED_PROXIES must be 0 to 10, got {TRUSTED_PROXIES}")
REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "omni.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "omni.api_schema.OmniAutoSchema",
    "EXCEPTION_HANDLER": "omni.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Throttles key on the client address: REMOTE_ADDR, or the address this many trusted
    # proxies in front of Omni saw (X-Forwarded-For read from the right). 0: the header, which
    # any client can write, is never read.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
        "user": env_str("API_THROTTLE_USER", "6000/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Omni API",
    "DESCRIPTION": "Catalogue, live stock, the unified cart, checkout and orders for the web shop "
    "and the app. Authentication is described in README.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "ContactChannelEnum": "customers.models.ContactChannel",
        "SalesChannelEnum": "customers.models.Channel",
    },
    # Swagger UI served from the installed sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security (production) ---------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Campaigns (campaigns/) -------------------------------------------------------------------
# Where links in messages point (unsubscribe, tracking): the public address of this server.
OMNI_PUBLIC_URL = env_str("OMNI_PUBLIC_URL", "http://127.0.0.1:8000")
# At most this many marketing messages per customer in this many days, all campaigns together.
OMNI_CAMPAIGN_FREQUENCY_CAP = (3, 7)
# Messages per second per channel, shared by the workers through the cache (CACHE_URL).
OMNI_CAMPAIGN_RATE_LIMITS = {"email": 200, "sms": 50, "push": 200}
# A message claimed by a worker for longer than this (seconds) is given back by the sweep.
OMNI_CAMPAIGN_CLAIM_TIMEOUT = 300
CELERY_BEAT_SCHEDULE["campaigns-sweep-messages"] = {
    "task": "campaigns.sweep_messages",
    "schedule": 60.0,
}
# Attribution: an order placed within this many days after a touch (per channel, per touch
# kind) is credited to the message; last touch wins, a linear multi-touch share is kept too.
OMNI_ATTRIBUTION_WINDOWS = {
    "email": {"click": 5, "open": 5},
    "sms": {"click": 1},
    "push": {"click": 1},
}
# Results: the holdout lift compares purchases in this many days after the send.
OMNI_CAMPAIGN_LIFT_WINDOW_DAYS = 7
# Providers' delivery and bounce webhooks authenticate with "Authorization: Bearer <token>".
OMNI_TRACKING_WEBHOOK_TOKEN = env_str("OMNI_TRACKING_WEBHOOK_TOKEN", "")
CELERY_BEAT_SCHEDULE["campaigns-attribute-orders"] = {
    "task": "campaigns.attribute_orders",
    "schedule": 120.0,
}
# Automations: triggers older than this many days are not new (a scheduler down longer loses
# them rather than flooding customers); due steps are claimed this many enrolments at a time.
OMNI_AUTOMATION_LOOKBACK_DAYS = 7
OMNI_AUTOMATION_BATCH = 1000
CELERY_BEAT_SCHEDULE["campaigns-enrol-automations"] = {
    "task": "campaigns.enrol_automations",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["campaigns-run-automation-steps"] = {
    "task": "campaigns.run_automation_steps",
    "schedule": 60.0,
}
