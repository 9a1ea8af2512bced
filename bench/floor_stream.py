"""The floor of an idle event stream: a bare ASGI application under the same uvicorn that opens
a ``text/event-stream`` and sends a keep-alive comment now and then, with no authentication, no
database and no routing. What one open stream costs the server before Atrium does anything.

Run by bench/bench_stream.py: ``uvicorn bench.floor_stream:application``.
"""

import asyncio

HEARTBEAT_SECONDS = 15


async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True})
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
