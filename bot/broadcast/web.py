"""Announcements from the browser (/staff/announce): the port integrations.web.announce_api calls, on the same
queue, roles and checks as `python -m bot broadcast` and Telegram's /announce.

A web desk account acts as the staff.yml member whose `web_username` names it (the commune writes that link in
staff.yml, next to the member's villages and approver flag); an account no member names may not announce.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.broadcast import queue
from bot.broadcast.cli import parse_when
from bot.broadcast.compose import announcement, report
from bot.broadcast.models import CANCELLED, DONE, Broadcast
from bot.storage.db import Resident
from bot.storage.store import Store
from integrations.web.announce_api import NotAllowed, Refused
from kernel.commune import CommuneSource, StaffMember, place_name
from kernel.i18n import Catalogs
from kernel.settings import BroadcastSettings

MAX_TEXT = 4000  # Telegram's message limit is 4096 characters, with the frame around the text
MAX_TOPIC = 64


class WebAnnouncements:
    def __init__(self, store: Store, commune: CommuneSource, catalogs: Catalogs, settings: BroadcastSettings) -> None:
        self.store, self.commune, self.catalogs, self.settings = store, commune, catalogs, settings

    def _member(self, username: str, language: str | None) -> StaffMember:
        member = self.commune.current().staff.by_web(username)
        if member is None:
            tr = self.catalogs.get(language)
            raise NotAllowed(tr(
                "Tài khoản {name} chưa được ghi cho ai trong staff.yml (web_username): hãy nhờ văn phòng xã thêm.",
                name=username))
        return member

    def _channels(self) -> list[str]:
        return list(self.settings.limits)

    async def form(self, username: str, language: str | None) -> dict[str, Any]:
        commune = self.commune.current()
        member = commune.staff.by_web(username)
        tr = self.catalogs.get(language)
        allowed = [v for v in commune.villages if member is not None
                   and (member.villages is None or v.code in member.villages)]
        return {"member": None if member is None else {"id": member.id, "name": member.name,
                                                       "approver": member.approver,
                                                       "whole_commune": member.villages is None},
                "villages": [{"code": v.code, "name": place_name(tr, v)} for v in allowed],
                "channels": self._channels(), "languages": list(self.catalogs.languages),
                "approval_required": commune.staff.approval_required,
                "needs_approval": member is not None and commune.staff.needs_approval(member),
                "recent": [await self._view(b, language) for b in await queue.recent(self.store, 10)],
                "awaiting": [await self._view(b, language) for b in await queue.awaiting(self.store)
                             if member is not None and member.approver and b.author != member.id]}

    def _draft(self, member: StaffMember, body: Any, language: str | None) -> Broadcast:
        """The announcement as sent, checked like queue.create checks it (without recording it)."""
        tr = self.catalogs.get(language)
        if not isinstance(body, dict):
            raise Refused(tr("Hãy gửi JSON: text_vi, text_en, villages, channels, topic, at."))
        text_vi, text_en = (str(body.get(k) or "").strip() for k in ("text_vi", "text_en"))
        if not text_vi:
            raise Refused(tr("Thông báo cần có nội dung tiếng Việt."))
        if len(text_vi) > MAX_TEXT or len(text_en) > MAX_TEXT:
            raise Refused(tr("Mỗi ngôn ngữ có tối đa {n} ký tự.", n=MAX_TEXT))
        villages = body.get("villages") or []
        if not isinstance(villages, list) or not all(isinstance(v, str) for v in villages):
            raise Refused(tr("villages: danh sách mã thôn (để trống: cả xã)."))
        commune = self.commune.current()
        unknown = sorted(set(villages) - {v.code for v in commune.villages})
        if unknown:
            raise Refused(tr("Không có thôn với mã: {codes}.", codes=", ".join(unknown)))
        if not commune.staff.may_send(member, villages):
            raise Refused(tr("{who} chỉ được gửi thông báo tới: {where}.", who=member.id,
                             where=", ".join(member.villages or ()) or "-"))
        channels = body.get("channels")
        if channels is None:
            channels = self._channels()
        if not isinstance(channels, list) or not channels or not set(channels) <= set(self._channels()):
            raise Refused(tr("Hãy chọn ít nhất một kênh trong: {channels}.", channels=", ".join(self._channels())))
        topic = str(body.get("topic") or "general").strip()[:MAX_TOPIC] or "general"
        return Broadcast(id=None, author=member.id, topic=topic, text_vi=text_vi, text_en=text_en or None,
                         villages=sorted(set(villages)), channels=sorted(set(channels)), buttons=[], status="preview")

    async def _audience(self, villages: list[str], channels: list[str]) -> dict[str, int]:
        stmt = (select(Resident.channel, func.count()).where(
            Resident.subscribed.is_(True), Resident.blocked.is_(False), Resident.channel.in_(channels))
            .group_by(Resident.channel))
        if villages:
            stmt = stmt.where(Resident.village.in_(villages))
        async with self.store.session() as s:
            counts = dict((await s.execute(stmt)).all())
        return {ch: int(counts.get(ch, 0)) for ch in channels}

    async def preview(self, username: str, body: Any, language: str | None) -> dict[str, Any]:
        """Who will get it (per channel) and what residents of each language will read."""
        draft = self._draft(self._member(username, language), body, language)
        by_channel = await self._audience(draft.villages, draft.channels or [])
        previews = []
        for lang in self.catalogs.languages:
            reply = announcement(draft, self.catalogs, lang)
            previews.append({"language": lang, "text": reply.text,
                             "buttons": [b.label for row in reply.buttons for b in row]})
        return {"recipients": sum(by_channel.values()), "by_channel": by_channel, "previews": previews}

    async def send(self, username: str, body: Any, language: str | None) -> dict[str, Any]:
        member = self._member(username, language)
        draft = self._draft(member, body, language)
        commune = self.commune.current()
        at = str(body.get("at") or "").strip() or None
        try:
            due = parse_when(at)
        except queue.BroadcastError as exc:
            tr = self.catalogs.get(language)
            raise Refused(tr("Giờ gửi {at}: cần dạng YYYY-MM-DD HH:MM.", at=at)) from exc
        try:
            b = await queue.create(self.store, commune.staff, member.id, topic=draft.topic, text_vi=draft.text_vi,
                                   text_en=draft.text_en, villages=draft.villages,
                                   known_villages={v.code for v in commune.villages}, due_at=due,
                                   channels=draft.channels)
        except queue.BroadcastError as exc:
            raise Refused(str(exc)) from exc
        return await self._view(b, language)

    async def status(self, broadcast_id: int, language: str | None) -> dict[str, Any]:
        b = await queue.get(self.store, broadcast_id)
        if b is None:
            tr = self.catalogs.get(language)
            raise LookupError(tr("Không có thông báo #{id}.", id=broadcast_id))
        return await self._view(b, language)

    async def cancel(self, username: str, broadcast_id: int, language: str | None) -> dict[str, Any]:
        member = self._member(username, language)
        try:
            b = await queue.cancel(self.store, broadcast_id, self.commune.current().staff, member.id)
        except queue.BroadcastError as exc:
            raise Refused(str(exc)) from exc
        return await self._view(b, language)

    async def approve(self, username: str, broadcast_id: int, language: str | None) -> dict[str, Any]:
        member = self._member(username, language)
        try:
            b = await queue.approve(self.store, self.commune.current().staff, broadcast_id, member.id)
        except queue.BroadcastError as exc:
            raise Refused(str(exc)) from exc
        return await self._view(b, language)

    async def _view(self, b: Broadcast, language: str | None) -> dict[str, Any]:
        c = await queue.counts(self.store, b.id)
        settled = c.sent + c.failed + c.skipped
        finished = b.status in (DONE, CANCELLED)
        percent = 100 if finished and not c.pending else (100 * settled // c.recipients if c.recipients else 0)
        return {"id": b.id, "status": b.status, "author": b.author, "topic": b.topic, "villages": b.villages,
                "channels": b.channels or self._channels(),
                "text_vi": b.text_vi, "text_en": b.text_en, "due_at": b.due_at, "approved_by": b.approved_by,
                "recipients": c.recipients, "sent": c.sent, "failed": c.failed, "pending": c.pending,
                "skipped": c.skipped, "percent": percent, "finished": finished,
                "report": report(b, c, self.catalogs.get(language), final=True) if finished else None}
