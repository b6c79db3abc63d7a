"""SSRF guard: refuse private, loopback, link-local and metadata targets after DNS resolution."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from jobwerk.errors import AppError

from ._models import ScrapeSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(AppError):
    """The URL points somewhere the scraper must not go."""

    status = 422


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels or maps, if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` (and any IPv4 it embeds) is a global unicast address."""
    if ip in _METADATA or not ip.is_global or ip.is_multicast:
        return False
    inner = embedded_ipv4(ip)
    return inner is None or is_public(inner)


class SSRFGuard:
    """Checks URLs and resolves hosts to addresses that may be connected to.

    Resolved addresses are cached per host for the guard's lifetime, and callers connect to the
    returned address (pinning), so a DNS answer cannot change between check and use.
    """

    def __init__(self, settings: ScrapeSettings) -> None:
        self._settings = settings
        self._resolved: dict[tuple[str, int], IPAddress] = {}

    def admits_ip(self, host: str, ip: IPAddress) -> bool:
        """Whether ``ip`` (resolved from ``host``) may be contacted."""
        if ip in _METADATA:
            return False
        return self.allow_listed(host, ip) or is_public(ip)

    def allow_listed(self, host: str, ip: IPAddress) -> bool:
        """Whether the operator's allow-list names ``host`` or a network holding ``ip``."""
        if host.lower() in self._settings.allow_hosts:
            return True
        return any(ip in net for net in self._settings.allow_networks)

    def check_syntax(self, url: str) -> tuple[str, int]:
        """Scheme, credentials and port checks; returns ``(host, port)``.

        Raises:
            UnsafeTarget: the URL is not a plain http(s) URL on an allowed port.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeTarget(f"only http and https URLs are allowed: {url}")
        if parts.username or parts.password:
            raise UnsafeTarget("credentials inside the URL are not accepted")
        if not parts.hostname:
            raise UnsafeTarget(f"URL without a host: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allowed = self._settings.allowed_ports
        if allowed is not None and port not in allowed and not self._host_allowed(parts.hostname):
            raise UnsafeTarget(f"port {port} is not allowed")
        return parts.hostname.lower(), port

    def _host_allowed(self, host: str) -> bool:
        if host in self._settings.allow_hosts:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._settings.allow_networks)

    async def resolve(self, url: str) -> IPAddress:
        """Check ``url`` and return the address to connect to.

        Raises:
            UnsafeTarget: bad scheme/port, unresolvable host, or any resolved address refused.
        """
        host, port = self.check_syntax(url)
        cached = self._resolved.get((host, port))
        if cached is not None:
            return cached
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise UnsafeTarget(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise UnsafeTarget(f"cannot resolve {host}")
        refused = [ip for ip in addresses if not self.admits_ip(host, ip)]
        if refused:
            raise UnsafeTarget(f"{host} resolves to a non-public address ({refused[0]})")
        self._resolved[(host, port)] = addresses[0]
        return addresses[0]
