"""Triage settings: every knob is an environment variable with a safe development default.

`.env.example` lists them. SECRET_KEY has no default, in any mode. Production sets
DEBUG=false (the default), SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS, DATABASE_URL and
REDIS_URL.
"""

import json
import os
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    # A typo such as DEBUG=ture must not silently fall back to a default.
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def fernet_keys(name: str, older_name: str) -> list[str]:
    """A comma-separated list of Fernet keys, each checked now: a mistyped key must stop the
    start, not make every stored secret unreadable later."""
    if env_list(name, "") and env_list(older_name, ""):
        raise ImproperlyConfigured(f"set {name} only ({older_name} is its older name)")
    keys = env_list(name, "") or env_list(older_name, "")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"key {position} of {name} is not a Fernet key (32 url-safe base64-encoded "
                "bytes, as `Fernet.generate_key()` makes)"
            ) from None
    return keys


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    # No key lives in the source, not even for development: a known key signs anyone's session.
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: set it to a long random value, e.g. the output of "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`. `make run` makes one "
        "per install on first start: `export SECRET_KEY=$(cat .secrets/secret_key)`"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    # The areas, base first: each may use those above it in this list, never those below.
    "runs",
    "operations",
    "defects",
    "reruns",
    "demo",
]

MIDDLEWARE = [
    "operations.hostile_input.HostileInputMiddleware",
    "operations.resilience.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "operations.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "operations.request_log.RequestLogMiddleware",
]

ROOT_URLCONF = "triage.urls"
WSGI_APPLICATION = "triage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Named partials ("runs/run_list.html#run-table") let htmx fetch one fragment of
            # a page from the same template file.
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Without DATABASE_URL the dashboard runs on a SQLite file in the working tree.
_sqlite_path = env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{_sqlite_path}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded mode has a web server and a periodic loop writing at once: take the write
    # lock when a transaction starts (no failed lock upgrades), wait for it, and use WAL so
    # readers never block.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite (the embedded mode) ignores an index's covering columns; PostgreSQL uses them.
SILENCED_SYSTEM_CHECKS = (
    ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
# How many proxies of ours stand in front (their X-Forwarded-For entries are trusted).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
# Shared by every web process when Redis is there (login throttling must see all attempts).
CACHE_URL = env_str("CACHE_URL", env_str("REDIS_URL", ""))
# A cache that hangs must cost a page a moment, not its answer: kept fragments are drawn
# afresh and throttling falls back when a call fails.
CACHE_SOCKET_TIMEOUT_SECONDS = env_int("CACHE_SOCKET_TIMEOUT_MS", 1000) / 1000
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
            },
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# With a cache every web process shares, a page reads its session there instead of asking the
# database; a cache of each process's own would keep a session another process ended.
SESSION_ENGINE = "operations.sessions" if CACHE_URL else "django.contrib.sessions.backends.db"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve assets straight from the source folders; production serves the
# hashed, compressed copies collectstatic wrote to STATIC_ROOT.
STATIC_FROM_SOURCE = env_bool("STATIC_FROM_SOURCE", DEBUG)
STATIC_ROOT = None if STATIC_FROM_SOURCE else BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if STATIC_FROM_SOURCE
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = STATIC_FROM_SOURCE
WHITENOISE_AUTOREFRESH = DEBUG

# Reports larger than this are refused with 413 before they are parsed.
REPORT_MAX_BYTES = env_int("REPORT_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REPORT_MAX_BYTES
# Each web process reads and stores reports side by side while their memory fits this budget;
# a JSON report is reckoned at INGEST_MEMORY_PER_BYTE times its size, a runner's XML file at
# INGEST_XML_MEMORY_PER_BYTE (its tree and text cost more to read; bench/ingest.py measures
# both). One waiting longer than INGEST_BUDGET_WAIT_SECONDS is answered 503 with Retry-After.
INGEST_MEMORY_BUDGET_MB = env_int("INGEST_MEMORY_BUDGET_MB", 512)
INGEST_MEMORY_PER_BYTE = env_int("INGEST_MEMORY_PER_BYTE", 12)
INGEST_XML_MEMORY_PER_BYTE = env_int("INGEST_XML_MEMORY_PER_BYTE", 22)
INGEST_BUDGET_WAIT_SECONDS = env_int("INGEST_BUDGET_WAIT_SECONDS", 20)
# A run posted in parts without a total is taken as whole this long after its last part:
# then its failures are grouped into defects and the checks of a whole run are made.
RUN_PARTS_SETTLE_SECONDS = env_int("RUN_PARTS_SETTLE_SECONDS", 600)

# Production hardening; harmless in development because DEBUG turns the HTTPS parts off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Celery: without REDIS_URL tasks run in-process, which is what the embedded mode needs.
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# What follows a stored report (grouping, rerun outcome) runs after the webhook's answer: in a
# worker, or, in the embedded mode, in the web process once the response is sent.
REPORT_FOLLOW_UP_IN_PROCESS = env_bool("REPORT_FOLLOW_UP_IN_PROCESS", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "triage")
# An unacknowledged task (its worker died) is delivered again after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)}
# Every module that defines tasks, so a worker knows them all before any message arrives.
CELERY_IMPORTS = (
    "operations.request_log",
    "operations.heartbeat",
    "defects.tasks",
    "defects.periodic",
    "reruns.tasks",
    "reruns.report_tasks",
    "reruns.periodic",
)
CELERY_BEAT_SCHEDULE = {
    "escalate-defects": {"task": "defects.periodic.escalate_defects", "schedule": 60.0},
    "defects-sweep": {"task": "defects.periodic.sweep_defects", "schedule": 60.0},
    "reruns-sweep": {
        "task": "reruns.periodic.sweep_reruns",
        "schedule": float(env_int("RERUN_SWEEP_SECONDS", 30)),
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "triage@localhost")
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com")
# Webhooks, CI and GitHub calls may reach loopback/private addresses only when allowed
# (development, tests, or a CI server inside your network).
# Loopback, private and link-local addresses stay out of reach in development too, unless the
# operator says so (a webhook receiver on this machine).
OUTBOUND_ALLOW_PRIVATE_NETWORKS = env_bool("OUTBOUND_ALLOW_PRIVATE_NETWORKS", False)
# The only hosts Triage calls on a user's behalf (webhooks, CI, GitHub); "*.example.com"
# covers subdomains, "*" anything (development only).
OUTBOUND_ALLOWED_HOSTS = env_list(
    "OUTBOUND_ALLOWED_HOSTS", "*" if DEBUG else "api.github.com,hooks.slack.com"
)
# Links Triage sends out (rerun status callbacks) start with this.
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# A dispatch claimed by a worker that died is taken over after this many seconds.
RERUN_DISPATCH_LEASE_SECONDS = env_int("RERUN_DISPATCH_LEASE_SECONDS", 120)
RERUN_MAX_DISPATCH_ATTEMPTS = env_int("RERUN_MAX_DISPATCH_ATTEMPTS", 6)
# A rerun sent to CI by an HTTP call leaves from the process that took the click, on a thread
# of its own, instead of through the broker and a worker; retries still go to the workers.
# Without a broker (the embedded mode) tasks run in the request anyway.
RERUN_DISPATCH_FROM_REQUEST = env_bool("RERUN_DISPATCH_FROM_REQUEST", bool(REDIS_URL))
# Local rerun commands are defined by the operator, never in the web UI (a project admin must
# not run programs on the worker host). JSON: {"name": {"argv": [...], "cwd": "...",
# "timeout": 600, "report": "relative/path/report.json"}}; "{scenarioIds}" in argv is replaced
# by the checked ids joined with "|".
# Environment variables a project admin may name as the source of a GitHub token.
RERUN_GITHUB_TOKEN_ENVS = env_list("RERUN_GITHUB_TOKEN_ENVS", "")
try:
    RERUN_COMMANDS = json.loads(env_str("RERUN_COMMANDS", "{}"))
except ValueError as exc:
    raise ImproperlyConfigured(f"RERUN_COMMANDS is not valid JSON: {exc}") from exc
# Fernet keys for stored secrets (GitHub tokens, webhook and signing secrets): the first
# encrypts, each decrypts, so a rotation puts the new key first and keeps the old one after it
# until `manage.py rotate_secrets` has run. FIELD_ENCRYPTION_KEY is the older name of the list.
# Without a key, one derived from SECRET_KEY encrypts, as it did before these settings existed.
FIELD_ENCRYPTION_KEYS = fernet_keys("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY")

# Production logs are JSON, one object per line (a request, a task, an event);
# development keeps plain text.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
# Every line also appended to this file, when set: a host without a log collector keeps its
# logs, and the test suite reads back every line its processes wrote.
LOG_FILE = env_str("LOG_FILE", "")
LOG_HANDLERS = {
    "console": {
        "class": "logging.StreamHandler",
        "formatter": LOG_FORMAT,
        "filters": ["credentials"],
    },
}
if LOG_FILE:
    LOG_HANDLERS["file"] = {
        # Reopened when rotated away; several processes may append to one file.
        "class": "logging.handlers.WatchedFileHandler",
        "filename": LOG_FILE,
        "formatter": LOG_FORMAT,
        "filters": ["credentials"],
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"credentials": {"()": "operations.redaction.RedactCredentials"}},
    "handlers": LOG_HANDLERS,
    "root": {"handlers": list(LOG_HANDLERS), "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The request log below has one line per request; Django's own would double it.
        "django.server": {"level": "WARNING"},
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /healthz reports the workers gone when no task finished for this long (beat runs one a minute).
WORKER_STALE_SECONDS = env_int("WORKER_STALE_SECONDS", 600)
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Without a token /metrics answers only in development, or where an operator says it is safe
# (a private network); it names projects and counts of their runs.
METRICS_PUBLIC = env_bool("METRICS_PUBLIC", DEBUG)
# Collectors that read figures from the database at scrape time.
METRICS_COLLECTORS = ["reruns.metrics.RerunCollector"]
