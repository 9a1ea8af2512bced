"""The benchmark's webhook receiver: a bare asyncio HTTP/1.1 server (keep-alive) answering
every POST with 200 and counting, per path, the distinct Atrium-Event-Id values it got.
``GET /stats`` answers {"requests": n, "distinct": n}. Run: receiver_webhooks.py PORT"""

import asyncio
import json
import sys

requests = 0
seen: set[tuple[bytes, bytes]] = set()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        global requests
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].split(b"\r\n")
            length, event_id = 0, b""
            for line in head[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"atrium-event-id":
                    event_id = value.strip()
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            method, path, _ = head[0].split(b" ", 2)
            if method == b"GET":
                body = json.dumps({"requests": requests, "distinct": len(seen)}).encode()
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                continue
            requests += 1
            seen.add((path, event_id))
            self.transport.write(OK)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
