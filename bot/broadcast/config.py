"""Broadcast settings (config.yml `broadcast:`) and staff roles (communes/<commune>/staff.yml)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.commune import Commune
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


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    telegram_user_id: str | None
    villages: tuple[str, ...] | None  # None = the whole commune
    approver: bool


@dataclass(frozen=True)
class Roles:
    """Who may broadcast where, and who approves."""

    approval_required: bool
    staff: tuple[StaffMember, ...]

    def member(self, staff_id: str) -> StaffMember | None:
        return next((m for m in self.staff if m.id == staff_id), None)

    def by_telegram(self, user_id: str | int) -> StaffMember | None:
        return next((m for m in self.staff if m.telegram_user_id and m.telegram_user_id == str(user_id)), None)

    def may_send(self, member: StaffMember, villages: list[str]) -> bool:
        """Whether the member may announce to these villages (empty = the whole commune)."""
        if member.villages is None:
            return True
        return bool(villages) and all(v in member.villages for v in villages)

    def needs_approval(self, author: StaffMember) -> bool:
        return self.approval_required and not author.approver

    def approvers(self) -> list[StaffMember]:
        return [m for m in self.staff if m.approver]


def roles(commune: Commune) -> Roles:
    """Staff roles from the commune's staff.yml (no file: nobody may broadcast)."""
    raw = commune.staff or {}
    members = []
    for i, m in enumerate(raw.get("staff") or ()):
        if not isinstance(m, dict) or not m.get("id"):
            raise ConfigError(f"staff.yml: entry {i + 1} needs an id")
        to = m.get("broadcast_to")
        if to in (None, "", []):
            villages: tuple[str, ...] | None = ()
        elif to == "all":
            villages = None
        else:
            villages = tuple(str(v) for v in (to if isinstance(to, list) else [to]))
            unknown = [v for v in villages if commune.village(v) is None]
            if unknown:
                raise ConfigError(f"staff.yml: {m['id']} may broadcast to unknown villages {unknown}")
        uid = m.get("telegram_user_id")
        members.append(StaffMember(str(m["id"]), str(m.get("name") or m["id"]),
                                   str(uid) if uid not in (None, "") else None, villages, bool(m.get("approver"))))
    return Roles(bool(raw.get("approval_required", False)), tuple(members))
