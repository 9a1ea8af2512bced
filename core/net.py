"""Who is on the other end of a request, when proxies we run stand in between.

Behind a reverse proxy every connection comes from the proxy, so ``REMOTE_ADDR`` alone would
put all clients in one throttle bucket and one audit address. ``X-Forwarded-For`` is only
believed as far as the ``TRUSTED_PROXIES`` setting says: either a number of proxy hops in
front of the app, or the networks the proxies live in. Anything further left in the header
was written by the client and is ignored, so a client cannot pick its own address.
"""

from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TrustedProxies = int | tuple[IPv4Network | IPv6Network, ...]


def parse_trusted_proxies(value: str) -> TrustedProxies:
    """``""`` or ``"0"``: no proxy; ``"2"``: two hops; ``"10.0.0.0/8,fd00::/8"``: networks."""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    try:
        return tuple(ip_network(part.strip()) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be a number of hops or comma-separated networks: {exc}"
        ) from None


def client_ip(meta: Mapping[str, str]) -> str | None:
    """The client's address from a request's ``META``."""
    remote = meta.get("REMOTE_ADDR") or None
    trusted: TrustedProxies = settings.TRUSTED_PROXIES
    if remote is None or not trusted:
        return remote
    forwarded = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Nearest hop last: each proxy appends the address it was connected from.
    chain = [hop for hop in forwarded if hop] + [remote]
    if isinstance(trusted, int):
        candidate = chain[max(len(chain) - 1 - trusted, 0)]
    else:
        candidate = chain[0]
        for hop in reversed(chain):
            if not _within(hop, trusted):
                candidate = hop
                break
    # A hop our proxies wrote is an address; anything else means the header is not theirs.
    return candidate if _is_address(candidate) else remote


def _is_address(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _within(hop: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(hop)
    except ValueError:
        return False
    return any(address in network for network in networks)
