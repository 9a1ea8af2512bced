"""Settings of the stock DRF contenders (bench/stock_urls.py: /me, documents, billing): what
``startproject`` and DRF give a project, on Atrium's bench settings (database, cache, installed
apps): startproject's middleware list, DRF's default renderers, parsers and negotiation, DRF's
``UserRateThrottle`` counting in the same Redis (rates no bench reaches), and Atrium's token
authentication."""

from config.settings.bench import *  # noqa: F403

ROOT_URLCONF = "bench.stock_urls"

# startproject's MIDDLEWARE, as Django 5.2 writes it.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerSessionAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": "100000000/min"},
}
