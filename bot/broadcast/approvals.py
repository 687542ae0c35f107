"""Approvers learn that an announcement waits: each is posted once, with an Approve button, to the staff chats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import select

from bot.broadcast.desk import PREFIX
from bot.broadcast.models import AWAITING_APPROVAL, Broadcast
from bot.desks import DeskRegistry
from bot.storage.store import Store
from kernel.commune import CommuneSource, place_name
from kernel.i18n import Catalogs
from kernel.messages import Button
from kernel.ports import DeliveryError

log = logging.getLogger(__name__)
EXCERPT = 600  # characters of the announcement quoted in the notice


class ApprovalNotices:
    """A worker (kernel.feature.Worker): every `every` seconds, announcements awaiting approval that the staff
    chats were not told about yet are posted to each staff place of each desk (e.g. Telegram's
    telegram.staff_chat_ids), except the chat it was composed in (that one has its button already). A post is
    recorded after it is made, so a crash in between repeats it rather than loses it."""

    def __init__(self, store: Store, catalogs: Catalogs, commune: CommuneSource, desks: DeskRegistry,
                 places: Mapping[str, Sequence[str]], every: float = 5.0) -> None:
        self.store, self.catalogs, self.commune, self.desks = store, catalogs, commune, desks
        self.places = {desk: tuple(p) for desk, p in places.items() if p}
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def text(self, b: Broadcast) -> str:
        tr = self.catalogs.get(None)
        commune = self.commune.current()
        member = commune.staff.member(b.author)
        where = ", ".join(place_name(tr, v) for v in (commune.village(c) for c in b.villages) if v is not None)
        body = b.text_vi or b.text_en or ""
        return tr("Thông báo #{id} của {who} gửi tới {where} đang chờ duyệt. Người duyệt (không phải người soạn) bấm "
                  "“Duyệt” dưới đây hoặc mở trang /staff/announce.\n\n{text}", id=b.id,
                  who=member.name if member else b.author, where=where or tr("cả xã"),
                  text=body if len(body) <= EXCERPT else body[:EXCERPT] + "…")

    async def tick(self) -> int:
        """Post what is waiting; the number of announcements posted."""
        ready = {name: places for name, places in self.places.items() if self.desks.get(name) is not None}
        if not ready:
            return 0
        async with self.store.session() as s:
            stmt = select(Broadcast).where(Broadcast.status == AWAITING_APPROVAL,
                                           Broadcast.approval_posted_at.is_(None)).order_by(Broadcast.id).limit(20)
            waiting = list((await s.execute(stmt)).scalars())
        posted = 0
        for b in waiting:
            button = Button(self.catalogs.get(None)("Duyệt"), f"{PREFIX}:approve:{b.id}")
            try:
                for name, places in ready.items():
                    desk = self.desks.get(name)
                    for place in places:
                        if desk is not None and (name, place) != (b.report_channel, b.report_chat):
                            await desk.post(place, self.text(b), ((button,),))
            except DeliveryError as exc:
                log.warning("approval notice for broadcast %s not posted yet: %s", b.id, exc)
                continue
            async with self.store.writing() as s:
                row = await s.get(Broadcast, b.id)
                if row is not None:
                    row.approval_posted_at = time.time()
            posted += 1
        return posted

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the database went away for a moment: try again at the next tick
                log.exception("approval notices failed")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.every)
            except TimeoutError:
                pass

    async def start(self) -> None:
        if self.places and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="broadcast-approval-notices")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
