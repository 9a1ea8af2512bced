"""The benchmarks' SMTP server: a bare asyncio SMTP sink (EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT) that accepts every message and counts them, and the distinct Message-ID headers
among them, so a message sent twice shows. ``XSTATS`` answers ``250 messages=N distinct=M``.
No TLS, no auth: it stands for a local relay. Run: smtp_sink.py PORT"""

import asyncio
import sys

messages = 0
distinct: set[bytes] = set()


class Session(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""
        self.in_data = False
        self.data: list[bytes] = []
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        while (end := self.buffer.find(b"\r\n")) >= 0:
            line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            self.line(line)

    def line(self, line: bytes) -> None:
        global messages
        if self.in_data:
            if line == b".":
                self.in_data = False
                messages += 1
                for header in self.data:
                    if header.lower().startswith(b"message-id:"):
                        distinct.add(header)
                        break
                    if not header:  # end of the headers
                        break
                self.data = []
                self.transport.write(b"250 OK queued\r\n")
            else:
                self.data.append(line)
            return
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.transport.write(b"250 OK\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 Bye\r\n")
            self.transport.close()
        elif line.upper() == b"XSTATS":
            self.transport.write(f"250 messages={messages} distinct={len(distinct)}\r\n".encode())
        else:
            self.transport.write(b"502 Command not implemented\r\n")


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Session, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
