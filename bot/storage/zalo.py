"""What the Zalo channel keeps in the database (its port integrations.zalo.memory.ZaloMemory): the OA's
tokens and the numbered choices last offered.

The tokens are encrypted at rest with Fernet (cryptography) under ZALO_TOKEN_KEY, a key from the
environment: a copy of the database alone cannot speak as the OA. Rows written before encryption
(plain text) are read once and rewritten encrypted at start (`seed`)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import DateTime, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.db import Base, changed, utcnow
from bot.storage.store import Store
from integrations.zalo.memory import Tokens
from kernel.config_read import ConfigError

ACCOUNT = "oa"
# Zalo documents an OA access token as valid for about 25 hours. A token pasted from the
# environment has an unknown age, so it is treated as expiring sooner than that.
SEEDED_TOKEN_LIFETIME = timedelta(hours=20)
# A number typed later than this after the list was sent is read as text.
CHOICES_KEPT = timedelta(days=1)
# Stored ciphertexts start with this mark; a value without it is a plain token from before encryption.
SEALED = "fernet:"
KEY_HELP = ("ZALO_TOKEN_KEY must be a Fernet key (make one with: python -c \"from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())\")")


def token_cipher(key: str | None) -> Fernet:
    """The cipher for the OA's tokens, or ConfigError naming the variable to set."""
    if not key:
        raise ConfigError("the Zalo OA keeps its tokens encrypted: set " + KEY_HELP)
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise ConfigError(KEY_HELP) from None


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

    def __init__(self, store: Store, key: str | None = None) -> None:
        self.store = store
        self._key = key
        self._cipher: Fernet | None = None

    def _fernet(self) -> Fernet:
        # Built on first use: a bot-mode sender, which keeps no tokens, needs no key.
        if self._cipher is None:
            self._cipher = token_cipher(self._key)
        return self._cipher

    def _seal(self, value: str | None) -> str | None:
        return None if value is None else SEALED + self._fernet().encrypt(value.encode()).decode()

    def _open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(SEALED):
            return value  # a plain token from before encryption (rewritten sealed by seed)
        try:
            return self._fernet().decrypt(value[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise ConfigError("the Zalo tokens in the database were sealed with another key: restore the "
                              "previous ZALO_TOKEN_KEY, or set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN "
                              "anew") from None

    def _tokens(self, row: ZaloToken) -> Tokens:
        return Tokens(self._open(row.access_token), self._open(row.refresh_token), _aware(row.expires_at))

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
                row.access_token = self._seal(access)
                row.refresh_token = self._seal(refresh)
                row.expires_at = utcnow() + SEEDED_TOKEN_LIFETIME if access else utcnow()
                row.seed_digest = digest
                row.updated_at = utcnow()
            else:
                # Migration: tokens saved in clear by an earlier version are sealed now.
                for column in ("access_token", "refresh_token"):
                    value = getattr(row, column)
                    if value is not None and not value.startswith(SEALED):
                        setattr(row, column, self._seal(value))
            return self._tokens(row)

    async def load(self) -> Tokens | None:
        async with self.store.session() as s:
            row = await s.get(ZaloToken, ACCOUNT)
            return self._tokens(row) if row else None

    async def save(self, previous_refresh: str | None, tokens: Tokens) -> bool:
        """Store refreshed tokens unless another process stored newer ones first (compare-and-set).

        Sealing is randomised, so the comparison is on the stored ciphertext read here, after checking
        that it opens to the refresh token this process spent."""
        async with self.store.writing() as s:
            stored = (await s.execute(select(ZaloToken.refresh_token)
                                      .where(ZaloToken.account == ACCOUNT))).scalar_one_or_none()
            if self._open(stored) != previous_refresh:
                return False
            swapped = await changed(s, update(ZaloToken).where(
                ZaloToken.account == ACCOUNT, ZaloToken.refresh_token == stored).values(
                access_token=self._seal(tokens.access_token), refresh_token=self._seal(tokens.refresh_token),
                expires_at=tokens.expires_at, updated_at=utcnow()))
            return bool(swapped)

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
