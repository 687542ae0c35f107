"""The residents port of the channels (kernel.ports.ResidentDirectory): what they read and report, written here."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from bot.storage.db import Resident
from bot.storage.store import Store
from kernel.messages import ResidentKey

log = logging.getLogger(__name__)


class Residents:
    """Residents' rows as the channels see them, through the assistant's Store (its write serialisation)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def language(self, who: ResidentKey) -> str | None:
        view = await self.store.find(who)
        return view.language if view is not None else None

    async def known(self, who: ResidentKey) -> bool:
        return await self.store.exists(who)

    async def set_blocked(self, who: ResidentKey, blocked: bool) -> None:
        async with self.store.writing() as s:
            await s.execute(update(Resident)
                            .where(Resident.channel == who.channel, Resident.platform_id == who.user_id,
                                   Resident.blocked.is_not(blocked))
                            .values(blocked=blocked))
        log.info("%s resident %s %s the bot", who.channel, who.user_id, "blocked" if blocked else "unblocked")

    async def unsubscribe(self, who: ResidentKey, via: str) -> None:
        async with self.store.writing() as s:
            row = (await s.execute(select(Resident).where(Resident.channel == who.channel,
                                                          Resident.platform_id == who.user_id))).scalar_one_or_none()
            if row is None:
                return
            if row.subscribed:
                self.store.track(s, row.id, "unsubscribe", data={"via": via})
            row.subscribed = False
            row.consent_at = None
