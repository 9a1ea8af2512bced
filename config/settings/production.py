"""Production: refuses to start without a real secret and encryption keys; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from core.crypto import key_problems

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default=None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
# Without its own keys the TOTP secrets would be encrypted with a key derived from SECRET_KEY,
# and rotating SECRET_KEY would lock every 2FA user out.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS must be set for production (comma-separated Fernet keys; "
        "make one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )
if key_problems(FIELD_ENCRYPTION_KEYS):
    raise ImproperlyConfigured(" ".join(key_problems(FIELD_ENCRYPTION_KEYS)))
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers and orchestrators probe over plain HTTP inside the network; a redirect would
# read as a failed check.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
ADMIN_REQUIRES_2FA = True
