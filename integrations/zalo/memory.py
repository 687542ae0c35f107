"""What the Zalo channel keeps between requests (the port; bot/storage/zalo.py keeps it in the database):
the OA's tokens, shared by every process, and the numbered choices last offered to each resident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class Tokens:
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC)


class ZaloMemory(Protocol):
    """Tokens and numbered choices, safe to share between processes (the server, broadcast workers)."""

    async def seed(self, access: str | None, refresh: str | None) -> Tokens:
        """The tokens to start with: the environment's on first start or when the operator changed
        them, else the ones saved by earlier refreshes."""
        ...

    async def load(self) -> Tokens | None:
        """The tokens saved last, if any."""
        ...

    async def save(self, previous_refresh: str | None, tokens: Tokens) -> bool:
        """Save refreshed tokens unless another process saved its own first (compare-and-set on the
        refresh token spent); True when saved."""
        ...

    async def offered_users(self) -> set[str]:
        """Residents with numbers on offer (read once at start)."""
        ...

    async def offer(self, user_id: str, payloads: list[str]) -> None:
        """Remember the payloads behind numbers just offered, or forget them when none were."""
        ...

    async def choice(self, user_id: str, number: int) -> str | None:
        """The payload behind a number offered recently, else None."""
        ...

    async def forget(self, user_id: str) -> None:
        """Drop everything kept about the resident."""
        ...
