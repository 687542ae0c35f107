"""Broadcast settings (config.yml `broadcast:`) and staff roles (communes/<commune>/staff.yml, typed in
kernel.commune)."""

from __future__ import annotations

from kernel.commune import Commune, Roles, StaffMember
from kernel.settings import BroadcastSettings, PlatformLimit, Settings

__all__ = ["BroadcastSettings", "PlatformLimit", "Roles", "StaffMember", "broadcast_settings", "roles"]


def broadcast_settings(settings: Settings) -> BroadcastSettings:
    """The typed `broadcast:` section (BROADCAST_RATE_<PLATFORM> is applied when the settings are loaded)."""
    return settings.broadcast


def roles(commune: Commune) -> Roles:
    """Staff roles from the commune's staff.yml, parsed and checked with the commune's data."""
    return commune.staff
