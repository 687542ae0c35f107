"""The team desk on the web server: its login (integrations.web.desk_auth) on the staff accounts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.staff.accounts import StaffAccounts
from integrations.web.desk_auth import LoginLimits, add_login_routes


def attach_desk(app: web.Application, services: Any, limits: LoginLimits | None = None) -> StaffAccounts:
    """Add /staff/ to the web app (before it starts); returns the accounts behind it."""
    accounts = StaffAccounts(services.store)
    add_login_routes(app, accounts, limits)
    return accounts
