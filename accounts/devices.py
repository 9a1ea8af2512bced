"""What a sign-in notice calls a device: the browser (or client) family and operating system
from the user agent, and the network from the address (a /24 for IPv4, a /48 for IPv6, so a
home connection's changing address stays one network). Coarse on purpose: a notice for every
browser update or DHCP lease would teach people to ignore them."""

import ipaddress
import re

_CLIENTS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"python-requests|python-urllib|httpx|aiohttp", re.I)),
)
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def family(user_agent: str) -> str:
    """E.g. "Firefox on Linux"; "an unknown client" when the agent says nothing we know."""
    client = next((name for name, pattern in _CLIENTS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if client and system:
        return f"{client} on {system}"
    return client or (f"a browser on {system}" if system else "an unknown client")


def network(ip_address: str | None) -> str:
    """The network ``ip_address`` is in, as CIDR text; "unknown" without an address."""
    if not ip_address:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return "unknown"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
