"""Where a webhook may be sent: not into Atrium's own network (SSRF).

A URL is refused when it is not https (in production), or when its host resolves to a
loopback, private, link-local (cloud metadata lives at 169.254.169.254), multicast, reserved or
unspecified address. Loopback is allowed where ``WEBHOOKS_ALLOW_LOOPBACK`` says so (development
and tests, whose receivers run on 127.0.0.1). The check runs when an endpoint is saved and
again when each batch is sent, against the addresses the name resolves to then; the request
then connects to the address that was checked, so a name re-pointed in between (DNS
rebinding) cannot redirect it.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The URL may not be called; the message says why, for the endpoint's owner."""


@dataclass(frozen=True)
class Target:
    """A URL checked for sending: where to connect, and what to tell the server."""

    scheme: str
    host: str  # the name in the URL: the Host header and the TLS server name
    ip: str  # the checked address the connection goes to
    port: int
    path: str  # path and query


def _refusal(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if settings.WEBHOOKS_ALLOW_LOOPBACK else "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_private:
        return "a private address"
    if not address.is_global or address.is_multicast:
        return "an address that is not on the internet"
    return None


def check_url(url: str) -> tuple[str, str, int, str]:
    """The scheme, host, port and path of ``url`` when its form is acceptable; RefusedAddress
    otherwise. Does not resolve the host."""
    parts = urlsplit(url)
    allowed = ("https",) if settings.WEBHOOKS_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in allowed:
        raise RefusedAddress(f"The URL must use {' or '.join(allowed)}.")
    if not parts.hostname:
        raise RefusedAddress("The URL names no host.")
    if parts.username or parts.password:
        raise RefusedAddress("The URL may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RefusedAddress("The URL's port is not a number from 1 to 65535.") from error
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port, path


def resolve(url: str) -> Target:
    """The address to send ``url``'s request to, checked now; RefusedAddress when the URL or
    any address its host resolves to is refused."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedAddress(f"The host {host} does not resolve.") from error
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise RefusedAddress(f"The host {host} does not resolve.")
    # Every address is checked, not only the one used: a name that mixes a public and a
    # private address is refused whole.
    for address in addresses:
        reason = _refusal(address)
        if reason is not None:
            raise RefusedAddress(f"The host {host} resolves to {reason}, which is refused.")
    return Target(scheme=scheme, host=host, ip=str(addresses[0]), port=port, path=path)
