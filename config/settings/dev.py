"""Local development: debug on, console email, a fixed throwaway secret."""

import warnings

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
ADMIN_REQUIRES_2FA = env.bool("ADMIN_REQUIRES_2FA", default=False)
DEMO_DATA_ALLOWED = True

# `make demo` serves everything through uvicorn, and WhiteNoise hands Django's ASGI handler a
# synchronous file iterator, which Django warns about on every static file. Harmless for a
# demo's handful of admin assets; production serves the API from gunicorn (docs/events.md).
warnings.filterwarnings("ignore", "StreamingHttpResponse must consume synchronous iterators")
