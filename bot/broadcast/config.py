"""Broadcast settings (config.yml `broadcast:`) and staff roles (communes/<commune>/staff.yml, typed in kernel.commune)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.commune import Commune, Roles, StaffMember
from kernel.settings import ConfigError, Settings


@dataclass(frozen=True)
class PlatformLimit:
    """How fast one platform accepts pushed messages."""

    per_second: float  # across the whole bot, all workers together
    per_chat_seconds: float = 1.0  # at least this long between two messages to one chat
    # Fraction of the limit actually used, so the jitter between a send's slot and its
    # arrival at the platform never tips a one-second window over the limit.
    headroom: float = 0.97

    @property
    def rate(self) -> float:
        return self.per_second * self.headroom


@dataclass(frozen=True)
class BroadcastSettings:
    limits: Mapping[str, PlatformLimit] = field(default_factory=lambda: {
        "telegram": PlatformLimit(30.0, 1.0), "zalo": PlatformLimit(10.0, 1.0)})
    lease_seconds: float = 60.0  # a claim not settled within this is taken back by another worker
    max_attempts: int = 5
    backoff_seconds: float = 5.0  # first retry; doubles each attempt
    backoff_max_seconds: float = 600.0
    max_in_flight: int = 64  # deliveries a worker process holds at once (waiting for their slot or sending)
    lookahead_seconds: float = 0.25  # how far ahead of the send schedule a worker claims
    poll_seconds: float = 0.5  # idle wait before looking for work again
    check_seconds: float = 1.0  # how often a worker starts due broadcasts, takes back claims, reports
    report_every_seconds: float = 30.0
    # Rows a previous worker claimed but never settled (it died mid-send) are sent again:
    # an announcement twice is better than a scam warning never. `false` marks them failed.
    resend_in_doubt: bool = True


def broadcast_settings(settings: Settings, env: Mapping[str, str] | None = None) -> BroadcastSettings:
    """Read the `broadcast:` section; BROADCAST_RATE_<PLATFORM> overrides a platform's messages/second."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = dict(settings.extra.get("broadcast") or {})
    try:
        limits: dict[str, PlatformLimit] = {}
        for name, spec in (raw.pop("rate_limits", None) or {"telegram": {"per_second": 30},
                                                              "zalo": {"per_second": 10}}).items():
            spec = dict(spec or {})
            per_second = float(env.get(f"BROADCAST_RATE_{name.upper()}", spec.pop("per_second", 30)))
            limits[name] = PlatformLimit(per_second=per_second,
                                         per_chat_seconds=float(spec.pop("per_chat_seconds", 1.0)),
                                         headroom=float(spec.pop("headroom", 0.97)))
            if spec:
                raise ValueError(f"broadcast.rate_limits.{name}: unknown keys {sorted(spec)}")
            if limits[name].per_second <= 0:
                raise ValueError(f"broadcast.rate_limits.{name}.per_second must be positive")
        known = set(BroadcastSettings.__dataclass_fields__) - {"limits"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"broadcast: unknown keys {sorted(unknown)}")
        out = BroadcastSettings(limits=limits, **{k: type(getattr(BroadcastSettings, k))(v)
                                                  for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    return out


def roles(commune: Commune) -> Roles:
    """Staff roles from the commune's staff.yml, parsed and checked with the commune's data."""
    return commune.staff
