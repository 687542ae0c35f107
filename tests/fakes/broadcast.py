"""Helpers for the broadcast tests: a database with subscribed residents, and a Sender double."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert

from bot.broadcast.config import roles
from bot.storage.db import Resident, make_engine, migrate, utcnow
from bot.storage.store import Store
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.messages import Reply
from kernel.ports import DeliveryError
from kernel.settings import ROOT, load_settings

COMMUNE = load_commune(ROOT / "communes/ung-hoa")
VILLAGES = {v.code for v in COMMUNE.villages}
ROLES = roles(COMMUNE)


async def open_store(url: str) -> Store:
    engine = make_engine(url)
    await migrate(engine)
    return Store(engine)


def catalogs() -> Catalogs:
    s = load_settings(ROOT / "config.yml", env={})
    return Catalogs(s.locales_dir, s.languages, s.default_language)


async def add_residents(store: Store, n: int, *, channel: str = "telegram", villages: Sequence[str] = ("dai-cuong",),
                        subscribed: bool = True, start: int = 0) -> None:
    """n residents, ids start..start+n-1; every third one speaks English, the rest Vietnamese or unset."""
    rows = [{"channel": channel, "platform_id": str(1000 + i),
             "language": "en" if i % 3 == 0 else ("vi" if i % 3 == 1 else None),
             "village": villages[i % len(villages)], "subscribed": subscribed, "blocked": False,
             "consent_at": utcnow() if subscribed else None, "created_at": utcnow()}
            for i in range(start, start + n)]
    async with store.writing() as s:
        for i in range(0, len(rows), 1000):
            await s.execute(insert(Resident), rows[i:i + 1000])


@dataclass
class RecordingSender:
    """A Sender at the channel boundary: records deliveries and raises like a platform would."""

    channel: str = "telegram"
    permanent: set[str] = field(default_factory=set)  # these users blocked the bot
    flaky: dict[str, int] = field(default_factory=dict)  # user -> temporary failures before success
    flood_once: set[str] = field(default_factory=set)  # these get one 429 with retry_after first
    retry_after: float = 0.3
    delay: float = 0.0
    received: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    times: list[float] = field(default_factory=list)

    async def send(self, user_id: str, replies: Sequence[Reply], at: str | None = None) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if user_id in self.permanent:
            raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)
        if user_id in self.flood_once:
            self.flood_once.discard(user_id)
            raise DeliveryError("Too Many Requests", retry_after=self.retry_after)
        if self.flaky.get(user_id, 0) > 0:
            self.flaky[user_id] -= 1
            raise DeliveryError("Bad Gateway")
        self.times.append(time.monotonic())
        self.received[user_id].extend(replies)

    def counts(self) -> Counter[str]:
        return Counter({u: len(r) for u, r in self.received.items()})
