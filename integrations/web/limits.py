"""The web chat's flood limits: per resident, per client address and on new residents, in bounded memory."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from kernel.flood import FloodLimiter
from kernel.settings import WebSettings


def address_key(remote: str | None) -> str:
    """The client address a limit counts: IPv4 as is, IPv6 by its /64 (one home or phone gets a whole
    /64, so counting single addresses would let one device use 2^64 of them)."""
    if not remote:
        return "?"
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class Backlog:
    """The chat requests being worked on. Under more load than the database serves, requests queued for its
    connections without end: waits of 30 s and more, then a pool timeout answered 500 (and the page dropped
    the message). Past `limit` a request is now refused at once, before any database work, with a 503 the
    page honours by sending it again later; those let in wait at most about limit / turns a second."""

    limit: int = 200
    working: int = 0

    def admit(self) -> bool:
        """Whether one more request may start (then `done()` must follow)."""
        if self.working >= self.limit:
            return False
        self.working += 1
        return True

    def done(self) -> None:
        self.working -= 1


@dataclass
class WebLimits:
    """Every flood limit of the web chat; `enabled=False` (BOT_RATE_LIMITS=off) turns all of them off."""

    resident: FloodLimiter = field(default_factory=lambda: FloodLimiter(20, 10))
    address: FloodLimiter = field(default_factory=lambda: FloodLimiter(120, 10))
    # New residents (a request without a known session) per address and for the whole server, per minute.
    new_per_address: FloodLimiter = field(default_factory=lambda: FloodLimiter(20, 60))
    new_total: FloodLimiter = field(default_factory=lambda: FloodLimiter(600, 60, max_keys=1))
    enabled: bool = True  # the flood limits above; the backlog holds either way
    backlog: Backlog = field(default_factory=Backlog)

    @classmethod
    def of(cls, web: WebSettings) -> WebLimits:
        """The limits the settings ask for."""
        return cls(resident=FloodLimiter(web.rate_limit_messages, web.rate_limit_window_seconds),
                   address=FloodLimiter(web.rate_limit_address_messages, web.rate_limit_window_seconds),
                   new_per_address=FloodLimiter(web.new_residents_per_minute, 60),
                   new_total=FloodLimiter(web.new_residents_per_minute_total, 60, max_keys=1),
                   enabled=web.rate_limits, backlog=Backlog(web.max_requests_in_progress))

    @classmethod
    def off(cls) -> WebLimits:
        return cls(enabled=False)

    def refuse_address(self, address: str) -> float | None:
        """Seconds to wait when the address sent too much, else None (and the request is counted)."""
        if self.enabled and not self.address.allow(address):
            return self.address.window
        return None

    def refuse_resident(self, address: str, resident: str, new: bool) -> float | None:
        """Seconds to wait when this resident, or new residents from the address or at all, are over their
        limit, else None (and the request is counted)."""
        if not self.enabled:
            return None
        if new:
            if not self.new_per_address.allow(address):
                return self.new_per_address.window
            if not self.new_total.allow("all"):
                return self.new_total.window
        if not self.resident.allow(resident):
            return self.resident.window
        return None
