"""Sending one endpoint's deliveries: signed POSTs over one kept-alive connection to the
address webhooks.addresses checked, no redirects, a 10 s timeout, the answer read up to a
small limit."""

import time
from dataclasses import dataclass
from types import TracebackType

import urllib3
from django.conf import settings

from core.signing import SIGNATURE_HEADER, signature_header

from .addresses import Target

# What is kept of a receiver's answer for the delivery log.
RESPONSE_EXCERPT_BYTES = 1024
USER_AGENT = "Atrium-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    ok: bool
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error: str = ""


class Sender:
    """POSTs to one checked target; use as a context manager so the connection is closed."""

    def __init__(self, target: Target) -> None:
        self.target = target
        timeout = urllib3.Timeout(total=settings.WEBHOOKS_TIMEOUT_SECONDS)
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            # Connect to the checked address; the certificate must still name the URL's host.
            pool = urllib3.HTTPSConnectionPool(
                target.ip,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                timeout=timeout,
                retries=False,
                maxsize=1,
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                target.ip, target.port, timeout=timeout, retries=False, maxsize=1
            )
        self.pool = pool
        default_port = 443 if target.scheme == "https" else 80
        self.host_header = (
            target.host if target.port == default_port else f"{target.host}:{target.port}"
        )

    def __enter__(self) -> "Sender":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.pool.close()

    def post(self, *, delivery_id: int, event_id: int, body: bytes, secrets: list[str]) -> Attempt:
        headers = {
            "Host": self.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Atrium-Event-Id": str(event_id),
            SIGNATURE_HEADER: signature_header(
                secrets=secrets, timestamp=int(time.time()), body=body
            ),
        }
        started = time.perf_counter()
        try:
            response = self.pool.urlopen(
                "POST",
                self.target.path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                excerpt = response.read(RESPONSE_EXCERPT_BYTES, decode_content=False)
                if response.length_remaining:
                    # A long answer is not read to its end: drop the connection instead.
                    response.close()
            finally:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return Attempt(
                delivery_id=delivery_id,
                ok=False,
                latency_ms=_elapsed_ms(started),
                error=f"{type(error).__name__}: {error}"[:500],
            )
        return Attempt(
            delivery_id=delivery_id,
            ok=200 <= response.status < 300,
            status_code=response.status,
            latency_ms=_elapsed_ms(started),
            # PostgreSQL text holds no NUL.
            excerpt=excerpt.decode("utf-8", errors="replace").replace("\x00", ""),
        )


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
