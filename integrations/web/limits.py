"""The web chat's flood limits: per resident, per client address and on new residents, in bounded memory."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from kernel.settings import WebSettings


class FloodLimiter:
    """At most `limit` events per key in any `window` seconds (a sliding window).

    Memory is bounded: at most `max_keys` keys are remembered; past that the least recently seen key is
    forgotten (it can then send a little more, which costs less than an attacker growing the table)."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def full(self, key: str, now: float | None = None) -> bool:
        """True when `key` has used its limit in the window (nothing is counted)."""
        now = time.monotonic() if now is None else now
        times = self._seen.get(key)
        return times is not None and sum(1 for t in times if now - t <= self.window) >= self.limit

    def __len__(self) -> int:
        return len(self._seen)


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
class WebLimits:
    """Every flood limit of the web chat; `enabled=False` (BOT_RATE_LIMITS=off) turns all of them off."""

    resident: FloodLimiter = field(default_factory=lambda: FloodLimiter(20, 10))
    address: FloodLimiter = field(default_factory=lambda: FloodLimiter(120, 10))
    # New residents (a request without a known session) per address and for the whole server, per minute.
    new_per_address: FloodLimiter = field(default_factory=lambda: FloodLimiter(20, 60))
    new_total: FloodLimiter = field(default_factory=lambda: FloodLimiter(600, 60, max_keys=1))
    enabled: bool = True

    @classmethod
    def of(cls, web: WebSettings) -> WebLimits:
        """The limits the settings ask for."""
        return cls(resident=FloodLimiter(web.rate_limit_messages, web.rate_limit_window_seconds),
                   address=FloodLimiter(web.rate_limit_address_messages, web.rate_limit_window_seconds),
                   new_per_address=FloodLimiter(web.new_residents_per_minute, 60),
                   new_total=FloodLimiter(web.new_residents_per_minute_total, 60, max_keys=1),
                   enabled=web.rate_limits)

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
