"""How far X-Forwarded-For is believed: only as far as TRUSTED_PROXIES says."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.net import client_ip, parse_trusted_proxies


def meta(remote: str, forwarded: str | None = None) -> dict[str, str]:
    values = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        values["HTTP_X_FORWARDED_FOR"] = forwarded
    return values


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = 0
    assert client_ip(meta("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),  # the client's forgery is left of it
        (2, "203.0.113.9, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
        # Fewer hops than configured: the farthest address known, never a forgery.
        (2, "198.51.100.7", "198.51.100.7"),
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
    ],
)
def test_a_number_of_hops_believes_that_many_proxies(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXIES = hops
    assert client_ip(meta("10.0.0.1", forwarded)) == expected


def test_trusted_networks_skip_every_proxy_inside_them(settings):
    settings.TRUSTED_PROXIES = parse_trusted_proxies("10.0.0.0/8, fd00::/8")
    assert client_ip(meta("10.0.0.1", "203.0.113.9, 198.51.100.7, 10.2.3.4")) == "198.51.100.7"
    # A connection from outside the networks is the client itself, whatever it claims.
    assert client_ip(meta("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_a_malformed_setting_is_refused_with_the_reason():
    assert parse_trusted_proxies("") == 0
    assert parse_trusted_proxies("2") == 2
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        parse_trusted_proxies("10.0.0.0/33")
