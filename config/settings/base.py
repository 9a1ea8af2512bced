"""Settings shared by every environment; each value that differs per deployment comes from
the environment (12-factor), read through django-environ."""

import warnings
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from core.net import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's .env is a convenience; real deployments set the environment itself.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium"

SECRET_KEY = env("SECRET_KEY", default=None)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "core.apps.AtriumAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Before core: core/admin.py replaces the job admin procrastinate registers.
    "procrastinate.contrib.django",
    "core",
    "config",
    "accounts",
    "chat",
    "documents",
    "billing",
    "webhooks",
]

# Every request: security headers, the HTTPS redirect, CSRF (DRF's views are exempt; its
# cookie-session authentication checks CSRF itself) and framing.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.BrowserMiddleware",
    # After the view: a caller who wrote reads from the primary for a while (core/routing.py).
    "core.routing.ReadYourWritesMiddleware",
]
# What BrowserMiddleware runs for pages, the admin and API requests with cookies, in this
# order; API requests without a cookie (tokens, keys) skip it (core/middleware.py).
BROWSER_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The admin's own checks look for its middleware in MIDDLEWARE only; core.checks looks for it
# in BROWSER_MIDDLEWARE, where it runs.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

POSTGRESQL_ENGINE = "django.db.backends.postgresql"
DATABASE_URL_EXAMPLE = "postgres://user:password@host:5432/name"


def _database_from_url(url: str, setting: str = "DATABASE_URL") -> dict[str, Any]:
    """A database URL (from the environment variable ``setting``) as Django's DATABASES entry,
    or ImproperlyConfigured in one line saying what is wrong (never echoing the URL: it may
    hold a password)."""
    with warnings.catch_warnings():
        # django-environ warns about an unknown scheme before returning no engine; the error
        # below says it in one line.
        warnings.simplefilter("ignore")
        try:
            database = env.db_url_config(url)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{setting} cannot be parsed ({error}); expected {DATABASE_URL_EXAMPLE}"
            ) from None
    engine = database.get("ENGINE")
    if not engine:
        raise ImproperlyConfigured(
            f"{setting} is not a database URL; expected {DATABASE_URL_EXAMPLE}"
        )
    if engine != POSTGRESQL_ENGINE:
        scheme = url.partition("://")[0]
        raise ImproperlyConfigured(
            f"{setting} points at {scheme}, but Atrium runs on PostgreSQL only; "
            f"expected {DATABASE_URL_EXAMPLE}"
        )
    if not database.get("NAME"):
        raise ImproperlyConfigured(f"{setting} names no database; expected {DATABASE_URL_EXAMPLE}")
    return database


# Scale-out (docs/scale-out.md). DATABASE_URL may point at PgBouncer in transaction mode:
# nothing here keeps state in a server session between transactions. DATABASE_DIRECT_URL
# reaches the primary without the pooler (the `direct` alias: LISTEN, `migrate --database
# direct`, long maintenance commands); unset, it is DATABASE_URL. DATABASE_REPLICA_URL, when
# set, adds the `replica` alias that tolerant reads use (core/routing.py).
DATABASE_URL = env("DATABASE_URL", default=DEFAULT_DATABASE_URL)
DATABASE_DIRECT_URL = env("DATABASE_DIRECT_URL", default="") or DATABASE_URL
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
DATABASES = {
    "default": _database_from_url(DATABASE_URL),
    "direct": _database_from_url(DATABASE_DIRECT_URL, "DATABASE_DIRECT_URL"),
}
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database_from_url(DATABASE_REPLICA_URL, "DATABASE_REPLICA_URL")
for _alias, _database in DATABASES.items():
    # Django's backend, but its pool checks a connection it hands out without a round trip
    # (core/backends/postgresql/base.py).
    _database["ENGINE"] = "core.backends.postgresql"
    _database["ATOMIC_REQUESTS"] = False
    _database.setdefault("OPTIONS", {})
    # PgBouncer in transaction mode hands each transaction any server connection, so no
    # prepared statement may outlive one (Django's default too, stated because the pooler
    # depends on it) and no cursor may be declared WITH HOLD outside a transaction.
    _database["OPTIONS"]["prepare_threshold"] = None
    _database["DISABLE_SERVER_SIDE_CURSORS"] = True
    # During a database outage requests must fail fast (503, core/api/problems.py) and the
    # first after it must succeed (docs/operations.md): a connection attempt gives up after
    # libpq's shortest wait, and a pooled connection is checked as it is handed out (a restart
    # leaves every pooled one dead).
    _database["CONN_HEALTH_CHECKS"] = True
    _database["OPTIONS"].setdefault("connect_timeout", 2)
    if _alias != "default":
        # Tests run every alias against the one test database.
        _database["TEST"] = {"MIRROR": "default"}
# psycopg's own pool keeps connections warm inside each worker process; CONN_MAX_AGE must
# stay 0 when the pool is on (Django refuses both). The direct alias serves few, long-lived
# connections and goes without.
if env.bool("DATABASE_POOL", default=True):
    for _alias in ("default", "replica"):
        if _alias in DATABASES:
            DATABASES[_alias]["OPTIONS"]["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN", default=1),
                "max_size": env.int("DATABASE_POOL_MAX", default=8),
                # How long a request waits for a connection: briefly, so an outage is a
                # prompt 503; a replica's reads are then retried on the primary
                # (core/routing.py). A web process asks from fewer threads than the pool
                # holds (a gunicorn sync worker, one; Django's sync thread and the stream's
                # few under ASGI), so the wait only ever covers making a connection, which
                # takes milliseconds; while the server refuses, psycopg's pool does not say
                # so and the request waits this long (docs/operations.md).
                "timeout": env.float("DATABASE_POOL_TIMEOUT", default=0.5),
                # A failed attempt to connect is not retried on psycopg's schedule (1 s, 2 s,
                # 4 s... for five minutes): while one waits, the pool starts no other, and the
                # first requests after an outage would time out waiting for it. Given up at
                # once, the next request that finds the pool empty starts a fresh attempt.
                "reconnect_timeout": 0,
            }
DATABASE_ROUTERS = ["core.routing.PrimaryReplicaRouter"]
# Tolerant reads leave the replica when it lags more than this many seconds; each process
# checks it at most every DATABASE_REPLICA_CHECK_INTERVAL seconds. A caller's reads stay on
# the primary for their sum after the caller writes (read-your-writes).
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)
DATABASE_REPLICA_CHECK_INTERVAL = env.float("DATABASE_REPLICA_CHECK_INTERVAL", default=1.0)

# The live event stream (core/api/event_stream.py): a comment line every HEARTBEAT seconds
# keeps proxies from closing a quiet stream; every RECHECK seconds the caller's credential is
# authenticated again (a revoked one ends the stream) and what they may read fetched again;
# a reader more than BACKLOG events behind is cut off and resumes from the table.
EVENT_STREAM_HEARTBEAT_SECONDS = env.float("EVENT_STREAM_HEARTBEAT_SECONDS", default=15.0)
EVENT_STREAM_RECHECK_SECONDS = env.float("EVENT_STREAM_RECHECK_SECONDS", default=30.0)
EVENT_STREAM_BACKLOG = env.int("EVENT_STREAM_BACKLOG", default=1000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]

# Argon2id first: new and re-hashed passwords use it. Parameters in accounts/hashers.py
# (benchmarked; see docs/security.md).
PASSWORD_HASHERS = ["accounts.hashers.AtriumArgon2PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The database cache's table, created by a core migration (core/migrations/0004_*), so that
# `migrate` alone prepares a deployment whichever cache it later runs with.
DATABASE_CACHE_TABLE = "django_cache"

REDIS_URL = env("REDIS_URL", default=None)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Redis answers in well under a millisecond; a dead or unreachable one must fail a
            # request (and /readyz) within a second rather than hold a worker until the
            # operating system gives up on the connection.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Without Redis every process must still share throttle state, so the fallback is the
    # database cache, never a per-process memory cache. Its default cap of 300 entries would
    # cull live throttle counters once a few hundred clients are active; Redis is the
    # production choice (atomic counters, no table writes on every request).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Atrium <no-reply@atrium.local>")

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    # Bearer first: its WWW-Authenticate is what a 401 advertises. Cookie sessions (with CSRF)
    # serve the admin's staff and the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerSessionAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["core.api.filters.FilterBackend"],
    "EXCEPTION_HANDLER": "core.api.problems.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only: a form-encoded or multipart body is a 415 unless a view (an upload) opts in.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.JSONFirstNegotiation",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
        "core.api.throttling.ScopedIPRateThrottle",
        "core.api.throttling.ScopedAccountRateThrottle",
        "core.api.throttling.ScopedCallerRateThrottle",
    ],
    # "<scope>.ip" and "<scope>.account" serve views that set throttle_scope = "<scope>".
    "DEFAULT_THROTTLE_RATES": {
        "anon": "60/min",
        "user": "600/min",
        "login.ip": "20/min",
        "login.account": "10/min",
        "register.ip": "10/hour",
        "register.account": "5/hour",
        "password_reset.ip": "10/hour",
        "password_reset.account": "5/hour",
        # A TOTP code is six digits; a few guesses a minute keep brute force out of reach.
        "two_factor.ip": "20/min",
        "two_factor.account": "5/min",
        # Sharing a document by email resolves an address to an account (docs/security.md,
        # "What an address reveals"): plenty for a person typing addresses, slow for a script.
        "share_by_email.caller": "60/hour",
    },
    # Throttles find the client's address as the audit trail does (core/net.py, from
    # TRUSTED_PROXIES); DRF's own X-Forwarded-For handling stays off.
    "NUM_PROXIES": 0,
}

# How long a soft-deleted row stays restorable before `manage.py purge_deleted` removes it, in
# days, per model label ("default" for the rest). Money records are never purged, whatever
# this says: a customer or product that invoices point at is kept.
SOFT_DELETE_RETENTION_DAYS = {"default": 30, "documents.document": 90}

# The reverse proxies in front of the app: a number of hops ("1" behind one TLS proxy) or the
# networks they run in ("10.0.0.0/8"). Empty: clients connect directly, X-Forwarded-For is
# ignored. See core/net.py.
TRUSTED_PROXIES = parse_trusted_proxies(env.str("TRUSTED_PROXIES", default=""))

SPECTACULAR_SETTINGS = {
    "TITLE": "Atrium API",
    "DESCRIPTION": "Accounts, chat, documents and billing for a small company.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Read-only fields (ids, timestamps) stay out of the request bodies clients are shown.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files, so the docs page's CSP can stay 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would send the schema's URL to a third-party service.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several models have a "status" with its own values; each set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "PaymentStatusEnum": "billing.models.PaymentStatus",
    },
}

# Django's defaults, stated because the API's security rests on them; HSTS and secure cookies
# are in production.py. The Content-Security-Policy comes from core.middleware.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A request body Django (or core.api.parsers.JSONParser) holds in memory; file uploads are
# streamed and not counted. Larger bodies get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# Staff need a verified TOTP device to enter the admin; development may turn it off.
ADMIN_REQUIRES_2FA = env.bool("ADMIN_REQUIRES_2FA", default=True)
OTP_TOTP_ISSUER = "Atrium"
# Fernet keys for secrets stored encrypted (TOTP secrets; core/crypto.py), comma-separated: the
# first encrypts, all decrypt, so keys rotate by putting a new one first. Unset, one key is
# derived from SECRET_KEY, which is fine for development; production sets its own, so that
# rotating SECRET_KEY does not make every stored secret unreadable.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Procrastinate tells at INFO how it registers tasks and defers each periodic run (the
    # worker's job lines stay); fontTools narrates every font subset of every PDF
    # (billing/pdf.py).
    "loggers": {
        name: {"level": "WARNING"}
        for name in ("procrastinate.blueprints", "procrastinate.periodic", "fontTools")
    },
}

# Accounts: sessions, lockout, links. Durations in seconds.
SESSION_TOKEN_LIFETIME = env.int("SESSION_TOKEN_LIFETIME", default=14 * 24 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=24 * 3600)
# Credentials record their last use at most this often, so reads don't turn into writes.
CREDENTIAL_TOUCH_INTERVAL = 60
LOGIN_LOCKOUT_THRESHOLD = env.int("LOGIN_LOCKOUT_THRESHOLD", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
LOGIN_LOCKOUT_MAX_SECONDS = env.int("LOGIN_LOCKOUT_MAX_SECONDS", default=24 * 3600)
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=48 * 3600)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
TWO_FACTOR_CHALLENGE_MAX_AGE = 5 * 60
# Where links in emails point.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# Where `manage.py backup` writes when not given --output (docs/operations.md). Keep it off the
# database's disk, or copy it elsewhere: a backup beside its database dies with it.
BACKUP_DIR = Path(env("BACKUP_DIR", default=str(BASE_DIR / "backups")))
# The key of `manage.py backup --encrypt` (32 url-safe base64 bytes, as Fernet.generate_key()).
BACKUP_ENCRYPTION_KEY = env("BACKUP_ENCRYPTION_KEY", default="")
# The memory each index build of `restore` and `backup --verify` may use (PostgreSQL's
# maintenance_work_mem for pg_restore's session): a large restore is mostly index builds.
RESTORE_MAINTENANCE_WORK_MEM = env("RESTORE_MAINTENANCE_WORK_MEM", default="1GB")

# seed_demo creates staff accounts with a public password: only where a setting allows.
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=False)


def _secrets_by_provider(raw: str) -> dict[str, list[str]]:
    """``card=s1,s2;bank_transfer=s3`` → {"card": ["s1", "s2"], "bank_transfer": ["s3"]}."""
    secrets: dict[str, list[str]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        provider, _, values = entry.partition("=")
        secrets[provider.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return secrets


# Payment providers' webhook signing secrets; several per provider while one rotates.
BILLING_WEBHOOK_SECRETS = _secrets_by_provider(env("BILLING_WEBHOOK_SECRETS", default=""))

# Background jobs (procrastinate on this database; docs/jobs.md). A worker beats every
# JOBS_HEARTBEAT_SECONDS; one silent for JOBS_STALLED_AFTER_SECONDS is taken for dead and the
# job it held runs again on another worker.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
JOBS_CONCURRENCY = env.int("JOBS_CONCURRENCY", default=4)
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=10.0)
JOBS_STALLED_AFTER_SECONDS = env.float("JOBS_STALLED_AFTER_SECONDS", default=30.0)
# How long a stopping worker (SIGTERM) waits for the jobs in hand before giving them back.
JOBS_SHUTDOWN_SECONDS = env.float("JOBS_SHUTDOWN_SECONDS", default=30.0)
# Events older than this many days are purged daily (the purge_events job).
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)

# Outgoing webhooks (docs/webhooks.md). Loopback targets are refused unless allowed here
# (development and tests run their receivers on 127.0.0.1); private, link-local and metadata
# addresses are always refused, and production accepts https URLs only.
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=False)
WEBHOOKS_REQUIRE_HTTPS = env.bool("WEBHOOKS_REQUIRE_HTTPS", default=True)
WEBHOOKS_TIMEOUT_SECONDS = 10.0
# The wait before the first retry of a failed delivery; each next wait doubles, up to 6 hours,
# for 3 days.
WEBHOOKS_FIRST_RETRY_SECONDS = env.float("WEBHOOKS_FIRST_RETRY_SECONDS", default=10.0)
# Consecutive failed attempts after which an endpoint is disabled and its owner emailed
# (with the backoff, about a day and a half of a receiver answering nothing but errors).
WEBHOOKS_DISABLE_AFTER_FAILURES = env.int("WEBHOOKS_DISABLE_AFTER_FAILURES", default=20)

# Invoice and credit-note PDFs (docs/billing-documents.md): stored once, through the storage
# STORAGES["billing_documents"] (local disk under BILLING_DOCUMENTS_ROOT unless a deployment
# swaps the backend), never served from it directly: the API and the hosted page check access.
BILLING_DOCUMENTS_ROOT = Path(
    env("BILLING_DOCUMENTS_ROOT", default=str(BASE_DIR / "billing-documents"))
)
STORAGES["billing_documents"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(BILLING_DOCUMENTS_ROOT)},
}
# Who issues the documents, printed on every PDF and hosted page. The logo (a PNG or JPEG
# path) is optional. A PDF is rendered once: changing these changes new documents only.
BILLING_COMPANY_NAME = env("BILLING_COMPANY_NAME", default="Atrium Demo Ltd")
BILLING_COMPANY_ADDRESS = env(
    "BILLING_COMPANY_ADDRESS", default="1 Example Street\n1000 Example City"
)
BILLING_COMPANY_TAX_ID = env("BILLING_COMPANY_TAX_ID", default="")
BILLING_COMPANY_LOGO = env("BILLING_COMPANY_LOGO", default="")
BILLING_PAYMENT_INSTRUCTIONS = env(
    "BILLING_PAYMENT_INSTRUCTIONS",
    default="Pay by bank transfer, quoting the invoice number.",
)
# How long a hosted invoice link (docs/billing-documents.md) opens the page, in seconds.
BILLING_HOSTED_LINK_MAX_AGE = env.int("BILLING_HOSTED_LINK_MAX_AGE", default=60 * 24 * 3600)
# Reminders of an open invoice (docs/billing-documents.md): days from its due date, negative
# before it, comma-separated; empty sends none. Checked at start (billing.E001).
BILLING_REMINDER_STEPS = env.list("BILLING_REMINDER_STEPS", default=["-3", "0", "7", "14", "30"])
