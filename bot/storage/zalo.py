"""What the Zalo channel keeps in the database (its port integrations.zalo.memory.ZaloMemory): the OA's
tokens and the numbered choices last offered."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.db import Base, utcnow
from bot.storage.store import Store
from integrations.zalo.memory import Tokens

ACCOUNT = "oa"
# Zalo documents an OA access token as valid for about 25 hours. A token pasted from the
# environment has an unknown age, so it is treated as expiring sooner than that.
SEEDED_TOKEN_LIFETIME = timedelta(hours=20)
# A number typed later than this after the list was sent is read as text.
CHOICES_KEPT = timedelta(days=1)


class ZaloToken(Base):
    __tablename__ = "zalo_tokens"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seed_digest: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ZaloChoice(Base):
    """The payloads behind the numbers last offered to a resident as text (newest batch only)."""

    __tablename__ = "zalo_choices"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    payloads: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _digest(access: str | None, refresh: str | None) -> str:
    return hashlib.sha256(f"{access or ''}\0{refresh or ''}".encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we store is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class ZaloStore:
    """The Zalo tables (the ZaloMemory port), through the assistant's Store (its write serialisation)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def seed(self, access: str | None, refresh: str | None) -> Tokens:
        """Tokens from the environment are used once: on first start, or when the operator
        changes them. Otherwise the tokens saved by earlier refreshes win (the environment's
        refresh token has been spent by then)."""
        digest = _digest(access, refresh)
        async with self.store.writing() as s:
            row = await s.get(ZaloToken, ACCOUNT)
            if row is None:
                row = ZaloToken(account=ACCOUNT)
                s.add(row)
            if row.seed_digest != digest:
                row.access_token = access
                row.refresh_token = refresh
                row.expires_at = utcnow() + SEEDED_TOKEN_LIFETIME if access else utcnow()
                row.seed_digest = digest
                row.updated_at = utcnow()
            return Tokens(row.access_token, row.refresh_token, _aware(row.expires_at))

    async def load(self) -> Tokens | None:
        async with self.store.session() as s:
            row = await s.get(ZaloToken, ACCOUNT)
            return Tokens(row.access_token, row.refresh_token, _aware(row.expires_at)) if row else None

    async def save(self, previous_refresh: str | None, tokens: Tokens) -> bool:
        """Store refreshed tokens unless another process stored newer ones first (compare-and-set)."""
        async with self.store.writing() as s:
            result = await s.execute(
                update(ZaloToken).where(ZaloToken.account == ACCOUNT, ZaloToken.refresh_token == previous_refresh)
                .values(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                        expires_at=tokens.expires_at, updated_at=utcnow()))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def offered_users(self) -> set[str]:
        """Residents with numbers on offer (read once at start; the sender keeps the set up to date)."""
        async with self.store.session() as s:
            return set((await s.execute(select(ZaloChoice.user_id))).scalars())

    async def offer(self, user_id: str, payloads: list[str]) -> None:
        """Remember the payloads behind numbers just offered, or forget them when none were."""
        async with self.store.writing() as s:
            row = await s.get(ZaloChoice, user_id)
            if not payloads:
                if row is not None:
                    await s.delete(row)
                return
            if row is None:
                s.add(ZaloChoice(user_id=user_id, payloads=json.dumps(payloads), updated_at=utcnow()))
            else:
                row.payloads = json.dumps(payloads)
                row.updated_at = utcnow()

    async def choice(self, user_id: str, number: int) -> str | None:
        """The payload behind a number offered to the resident within the last day, else None."""
        async with self.store.session() as s:
            row = (await s.execute(select(ZaloChoice.payloads, ZaloChoice.updated_at)
                                   .where(ZaloChoice.user_id == user_id))).first()
        if row is None or utcnow() - (_aware(row.updated_at) or utcnow()) > CHOICES_KEPT:
            return None
        payloads = json.loads(row.payloads)
        return payloads[number - 1] if 1 <= number <= len(payloads) else None

    async def forget(self, user_id: str) -> None:
        async with self.store.writing() as s:
            await s.execute(delete(ZaloChoice).where(ZaloChoice.user_id == user_id))
