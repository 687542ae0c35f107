"""Staff accounts and login sessions: argon2 password hashes, random session tokens kept only as hashes.

Implements the web desk's port (integrations.web.desk_auth.StaffLogins). Hashing runs in a thread: an
argon2 check takes tens of milliseconds of CPU and must not stall every resident's chat meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.models import ROLES, StaffAccount, StaffSession
from bot.storage.db import utcnow
from bot.storage.store import Store
from integrations.web.desk_auth import StaffUser

USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEAM = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost us CPU
SESSION_HOURS = 12  # a working day: a lost phone's session does not last for weeks


class StaffError(Exception):
    """A refused account change, with a plain explanation."""


@dataclass(frozen=True)
class AccountView:
    username: str
    role: str
    teams: tuple[str, ...]
    disabled: bool


def generate_password() -> str:
    """A password for someone who did not choose one: 96 random bits, easy to type from a screen."""
    return secrets.token_urlsafe(12)


def _digest(token: str) -> str:
    return hashlib.sha256(f"staff-session:{token}".encode()).hexdigest()


def password_hasher(profile: str) -> PasswordHasher:
    """argon2 with the parameters of the named profile (settings: web.password_profile)."""
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class StaffAccounts:
    """The staff_accounts and staff_sessions tables."""

    def __init__(self, store: Store, hasher: PasswordHasher) -> None:
        self.store = store
        self.hasher = hasher
        self._dummy: str | None = None  # checked for unknown names, so timing does not tell who exists

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, digest: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self.hasher.verify, digest, password)
        except (VerificationError, InvalidHashError):
            return False

    # --- accounts (the CLI) -------------------------------------------------------------

    async def add(self, username: str, role: str, teams: list[str], password: str) -> None:
        if not USERNAME.fullmatch(username):
            raise StaffError("a name has 1 to 64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise StaffError(f"the role is one of {', '.join(ROLES)}")
        if not teams or not all(TEAM.fullmatch(t) for t in teams):
            raise StaffError("give the account's team (--team ID, as in teams.yml)")
        digest = await self._hash(check_password(password))
        async with self.store.writing() as s:
            if await s.scalar(select(StaffAccount.id).where(StaffAccount.username == username)) is not None:
                raise StaffError(f"an account named {username!r} exists")
            s.add(StaffAccount(username=username, password_hash=digest, role=role, teams=list(teams)))

    async def list(self) -> list[AccountView]:
        async with self.store.session() as s:
            rows = (await s.scalars(select(StaffAccount).order_by(StaffAccount.username))).all()
        return [AccountView(r.username, r.role, tuple(r.teams), bool(r.disabled)) for r in rows]

    async def disable(self, username: str) -> None:
        """No more logins; every open session of the account ends now."""
        async with self.store.writing() as s:
            account = await self._account(s, username)
            account.disabled = True
            await s.execute(delete(StaffSession).where(StaffSession.account_id == account.id))

    async def reset_password(self, username: str, password: str) -> None:
        """A new password; every open session of the account ends (whoever knew the old one is out)."""
        digest = await self._hash(check_password(password))
        async with self.store.writing() as s:
            account = await self._account(s, username)
            account.password_hash, account.password_changed_at = digest, utcnow()
            await s.execute(delete(StaffSession).where(StaffSession.account_id == account.id))

    @staticmethod
    async def _account(s: AsyncSession, username: str) -> StaffAccount:
        account = await s.scalar(select(StaffAccount).where(StaffAccount.username == username))
        if account is None:
            raise StaffError(f"no account named {username!r}")
        return account

    # --- sessions (the web desk's port) ----------------------------------------------------

    async def login(self, username: str, password: str) -> str | None:
        """A new session token for the right password of an enabled account, else None."""
        if len(password) > MAX_PASSWORD or not USERNAME.fullmatch(username):
            return None
        async with self.store.session() as s:
            account = await s.scalar(select(StaffAccount).where(StaffAccount.username == username))
        if account is None or account.disabled:
            if self._dummy is None:
                self._dummy = await self._hash(generate_password())
            await self._verify(self._dummy, password)
            return None
        if not await self._verify(account.password_hash, password):
            return None
        token, now = secrets.token_urlsafe(32), utcnow()
        async with self.store.writing() as s:
            if self.hasher.check_needs_rehash(account.password_hash):
                row = await s.get(StaffAccount, account.id)
                if row is not None:
                    row.password_hash = await self._hash(password)
            s.add(StaffSession(token_hash=_digest(token), account_id=account.id, csrf=secrets.token_urlsafe(32),
                               created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS)))
            await s.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # housekeeping
        return token

    async def session(self, token: str) -> StaffUser | None:
        """Who holds this session token (None: unknown, expired, or the account was disabled)."""
        async with self.store.session() as s:
            row = (await s.execute(
                select(StaffSession, StaffAccount).join(StaffAccount, StaffAccount.id == StaffSession.account_id)
                .where(StaffSession.token_hash == _digest(token)))).first()
        if row is None:
            return None
        sess, account = row
        expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=utcnow().tzinfo)
        if account.disabled or expires <= utcnow():
            return None
        return StaffUser(account.id, account.username, account.role, tuple(account.teams), sess.csrf)

    async def logout(self, token: str) -> None:
        async with self.store.writing() as s:
            await s.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))
