"""Tests: the real PostgreSQL, a fast password hasher and in-memory email."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, env

SECRET_KEY = "test-only-secret-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Argon2 at production cost would dominate the suite's run time; the hasher is exercised on
# its own in tests/accounts/test_passwords.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ADMIN_REQUIRES_2FA = env.bool("ADMIN_REQUIRES_2FA", default=False)
# Pooled connections would outlive pytest-django's per-test database setup.
for _database in DATABASES.values():
    _database["OPTIONS"].pop("pool", None)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Never the checkout's directory; tests/billing points it at a directory of their own.
    "billing_documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(tempfile.gettempdir()) / "atrium-test-billing-documents")},
    },
}
# The in-memory cache lives as long as the test process, so real rates would let one test's
# requests throttle another's. Throttling is off; a test that checks it sets the rates it needs.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]),
}
DEMO_DATA_ALLOWED = True

# Tests run their webhook receivers on 127.0.0.1 over plain HTTP; the SSRF tests turn these off.
WEBHOOKS_ALLOW_LOOPBACK = True
WEBHOOKS_REQUIRE_HTTPS = False
# Tasks only the job tests enqueue, run by the worker subprocesses they start.
PROCRASTINATE_IMPORT_PATHS = ["tests.core.job_probes"]
