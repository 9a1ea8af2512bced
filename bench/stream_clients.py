"""The many clients of bench/bench_stream.py, in a process of their own so that their work is not
the server's: opens N event streams (a few of which note when each event arrives), reports when
they are all open, and at the end prints what the measured ones saw, as JSON.

Not run by hand: bench/bench_stream.py starts it.
"""

import argparse
import asyncio
import json
import sys
import time

HEAD = "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"


async def open_stream(port: int, path: str, token: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(HEAD.format(path=path, token=token).encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def drain(reader) -> None:
    while await reader.read(1 << 16):
        pass


async def measure(reader, arrivals: dict[str, float], until: str) -> None:
    """Notes the arrival time of each message.created by its message id, until ``until``."""
    async for line in reader:
        if line.startswith(b'{"id"') or b"data: " not in line:
            continue
        marker = line.find(b'"object_id":"')
        if marker < 0:
            continue
        start = marker + len(b'"object_id":"')
        message_id = line[start : line.index(b'"', start)].decode()
        arrivals[message_id] = time.time()
        if b'"content":"' + until.encode() in line:
            return


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/api/v1/events/stream")
    parser.add_argument("--measured", type=int, default=20)
    parser.add_argument("--until", default="END")
    parser.add_argument("--listen", help="also LISTEN on atrium_events at this conninfo (floor)")
    args = parser.parse_args()
    tokens = json.loads(sys.stdin.readline())
    streams = []
    for start in range(0, len(tokens), 100):  # opened in groups: a burst of 1,000 is a SYN flood
        streams += await asyncio.gather(
            *(open_stream(args.port, args.path, token) for token in tokens[start : start + 100])
        )
    notified: dict[str, float] = {}
    listening = asyncio.create_task(listen(args.listen, notified)) if args.listen else None
    await asyncio.sleep(0.5)  # the floor's LISTEN is in place before anything is published
    print("open", flush=True)
    sys.stdin.readline()  # the bench measures the server's memory, then says go
    arrivals: list[dict[str, float]] = [{} for _ in range(args.measured)]
    measured = [
        asyncio.create_task(measure(reader, arrivals[index], args.until))
        for index, (reader, _) in enumerate(streams[: args.measured])
    ]
    drained = [asyncio.create_task(drain(reader)) for reader, _ in streams[args.measured :]]
    await asyncio.gather(*measured)
    for task in [*drained, *([listening] if listening else [])]:
        task.cancel()
    print(json.dumps({"streams": arrivals, "notified": notified}), flush=True)


async def listen(conninfo: str, notified: dict[str, float]) -> None:
    """The floor: PostgreSQL's own NOTIFY reaching a bare client, by event id."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
        await connection.execute("LISTEN atrium_events")
        async for notification in connection.notifies():
            notified[notification.payload] = time.time()


if __name__ == "__main__":
    asyncio.run(main())
