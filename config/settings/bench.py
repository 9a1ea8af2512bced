"""Benchmarks (bench/bench_auth.py): production, served over plain HTTP on the loopback, with
throttle rates no bench load reaches.

Built on production.py rather than base.py so that whatever production changes, the bench
measures too. production.py reads SECRET_KEY, ALLOWED_HOSTS and FIELD_ENCRYPTION_KEYS from the
environment and refuses to start without them, so the bench's fixed values are put there before
it is read: a developer's shell, or production values in it, cannot change what the bench
serves.
"""

import os

os.environ["SECRET_KEY"] = "bench-only-secret-key-never-deployed-0123456789abcdef"  # noqa: S105
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
os.environ["FIELD_ENCRYPTION_KEYS"] = "YmVuY2gtb25seS1maWVsZC1rZXktbm90LXNlY3JldCE="

from .production import *  # noqa: F403
from .production import REST_FRAMEWORK

# The bench talks plain HTTP to gunicorn; the redirect would answer every request with a 301.
SECURE_SSL_REDIRECT = False

# One user makes every request, hundreds a second, where production limits each user to
# 600/min. The throttles still run and count, as in production, but never refuse.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000000/m"
    ),
}

# The bench's databases (atrium_bench*) are its own, filled by the scale loaders.
DEMO_DATA_ALLOWED = True
