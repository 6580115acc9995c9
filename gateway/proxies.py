"""Egress proxies for upstream calls, chosen the way curl and httpx choose them.

``UPSTREAM_HTTPS_PROXY`` / ``UPSTREAM_HTTP_PROXY`` / ``UPSTREAM_NO_PROXY``
default to the environment's ``https_proxy`` / ``http_proxy`` / ``no_proxy``
(lower case first, then upper case, then ``all_proxy``; config/settings/gateway.py). An https upstream
is reached through a CONNECT tunnel (TLS to the upstream inside it, so the
proxy sees only the host name); an http upstream gets its request in the
absolute form. ``NO_PROXY`` is a comma-separated list of host names (each
also matching its subdomains; a leading dot or ``*.`` is the same),
``host:port`` entries, IP addresses, CIDR ranges, or ``*`` for everything.
Proxy URLs are ``http://[user:password@]host:port`` (credentials go in
``Proxy-Authorization: Basic``); a URL without a scheme is taken as http,
without a port as 1080 (curl's default).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from django.conf import settings

from gateway.http_pool.failures import UpstreamUnreachable

DEFAULT_PROXY_PORT = 1080


class ProxySettings(NamedTuple):
    http: str
    https: str
    no_proxy: str

    @classmethod
    def current(cls) -> ProxySettings:
        return cls(settings.UPSTREAM_HTTP_PROXY, settings.UPSTREAM_HTTPS_PROXY, settings.UPSTREAM_NO_PROXY)


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, when the URL has credentials


def proxy_for(scheme: str, host: str, port: int, proxies: ProxySettings) -> Proxy | None:
    url = proxies.https if scheme == "https" else proxies.http
    if not url or bypassed(host, port, proxies.no_proxy):
        return None
    return parse_proxy(url)


@functools.lru_cache(maxsize=16)
def parse_proxy(url: str) -> Proxy:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise UpstreamUnreachable(
            f"unsupported egress proxy {parts.scheme}://{parts.hostname or ''} (only http:// proxies are)"
        )
    authorization = None
    if parts.username is not None:
        userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(userinfo.encode()).decode("ascii")
    return Proxy(parts.hostname, parts.port or DEFAULT_PROXY_PORT, authorization)


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` says to reach ``host:port`` directly."""
    if not no_proxy:
        return False
    host = host.lower().strip("[]").rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None and "/" in entry_host:
            try:
                if address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        domain = entry_host.removeprefix("*").lstrip(".").rstrip(".")
        if domain and (host == domain or host.endswith(f".{domain}")):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port`` -> (host, port); IPv6 addresses keep their colons."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
