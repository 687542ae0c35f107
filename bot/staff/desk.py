"""The team desk on the web server: its login (integrations.web.desk_auth) on the staff accounts, and its
case API (integrations.web.desk_api) on the hand-off's cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.staff.accounts import StaffAccounts, password_hasher
from bot.staff.cases import DeskCases
from bot.staff.throttle import DatabaseAttempts
from integrations.web.desk_api import add_case_routes
from integrations.web.desk_auth import LoginLimits, add_login_routes

if TYPE_CHECKING:
    from bot.app import Services


def attach_desk(app: web.Application, services: Services, limits: LoginLimits | None = None) -> StaffAccounts:
    """Add /staff/ to the web app (before it starts); returns the accounts behind it."""
    accounts = StaffAccounts(services.store, password_hasher(services.settings.web.password_profile))
    # Failed logins are counted in the database too: the processes of `run --workers N` count together.
    add_login_routes(app, accounts, limits or LoginLimits.default(DatabaseAttempts(services.store)),
                     services.catalogs)
    add_case_routes(app, DeskCases(services.escalation))
    return accounts
