"""Who may read /metrics: a Prometheus scraper that sends the scrape token or comes from an
allowed network, or an admin with a session token.

A scraper should not hold a 12-hour user session, hence the two ways of its own. The client
address is the TCP peer's: behind a reverse proxy it is the proxy's, which is why the allow-list
is empty unless set (see ``HttpSettings.metrics_allow``).
"""
from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from aiohttp import web

from agent_api.settings import HttpSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ScrapeAccess:
    token: bytes | None = None
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, http: HttpSettings) -> ScrapeAccess:
        token = http.metrics_token.get_secret_value().encode() if http.metrics_token else None
        return cls(token, tuple(ipaddress.ip_network(n, strict=False) for n in http.metrics_allow))

    def by_token(self, bearer: str | None) -> bool:
        return (self.token is not None and bearer is not None
                and hmac.compare_digest(self.token, bearer.encode()))

    def by_address(self, remote: str | None) -> bool:
        if not self.networks or not remote:
            return False
        try:
            address = ipaddress.ip_address(remote.split("%", 1)[0])
        except ValueError:  # a Unix socket peer has no IP address
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)


SCRAPE_ACCESS = web.AppKey("scrape_access", ScrapeAccess)
