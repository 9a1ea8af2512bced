"""Tests: the real PostgreSQL, a fast password hasher and in-memory email."""

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = "test-only-secret-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Argon2 at production cost would dominate the suite's run time; the hasher is exercised on
# its own in tests/accounts/test_passwords.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ADMIN_REQUIRES_2FA = env.bool("ADMIN_REQUIRES_2FA", default=False)
# Pooled connections would outlive pytest-django's per-test database setup.
DATABASES["default"]["OPTIONS"].pop("pool", None)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
