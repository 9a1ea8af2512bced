"""The ASGI application: the live event stream, and Django for everything else.

``GET /api/v1/events/stream`` is answered by core/api/event_stream.py itself, outside Django's
request cycle (its module docstring says why); every other request goes to Django. Serve it
with uvicorn (``uvicorn config.asgi:application``, as ``make demo`` does); the rest of the API
can equally stay on a WSGI server (config/wsgi.py), with the proxy sending the stream's path
here.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_asgi_application()

# Imported once Django is set up: the stream uses the ORM and the API's settings.
from core.api import event_stream  # noqa: E402


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == event_stream.PATH and scope["method"] == "GET":
        await event_stream.application(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await django_application(scope, receive, send)


async def _lifespan(receive, send):
    # Nothing to start or stop: the stream's listener starts with the first stream.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
