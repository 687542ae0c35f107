"""Composing announcements at a staff desk (a Telegram staff group): `/announce` with a preview and a confirm
button.

    /announce villages: Đại Cường, Đông Lỗ    (or: all; names or codes, diacritics optional)
    topic: class
    at: 2026-11-26 19:00                      (optional, commune time)
    vi: Lớp kỹ năng số tối nay 19h ở nhà văn hoá thôn.
    en: Digital skills class tonight at 7pm in the village hall.
    button: menu | Xem danh mục | See the menu

Lines without a key continue the text above them; text with no `vi:`/`en:` is Vietnamese.
The desk shows the announcement as residents will see it and buttons to send or drop it; only
its author may press them. Delivery reports come back to the same place at the same desk. Staff
are known by their Telegram user id in staff.yml (`telegram_user_id`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from bot.broadcast import queue
from bot.broadcast.cli import TIMEZONE, parse_buttons, parse_when
from bot.broadcast.compose import preview
from bot.broadcast.config import roles
from bot.storage.store import Store
from kernel.commune import CommuneSource, StaffMember
from kernel.edge import ascii_id
from kernel.feature import StaffAction
from kernel.i18n import Catalogs
from kernel.messages import Button, Reply
from kernel.text import fold_words

log = logging.getLogger(__name__)
PREFIX = "bcast"
KEYS = {"villages": "villages", "thon": "villages", "village": "villages", "topic": "topic", "chu de": "topic",
        "at": "at", "luc": "at", "vi": "vi", "en": "en", "button": "button", "nut": "button"}
ALL = {"all", "tat ca", "ca xa", "toan xa"}


def parse(text: str) -> dict[str, list[str]]:
    """The /announce text as {key: [values]}; a line without a known key continues the last text."""
    out: dict[str, list[str]] = {}
    last = "vi"
    for line in text.splitlines():
        m = re.match(r"^\s*([^\W\d_][^:]{0,10}):\s*(.*)$", line)
        key = KEYS.get(fold_words(m.group(1))) if m else None
        if key is not None and m is not None:
            out.setdefault(key, []).append(m.group(2).strip())
            last = key if key in ("vi", "en") else last
        elif line.strip() or last in out:
            texts = out.setdefault(last, [""])
            texts[-1] = f"{texts[-1]}\n{line}".strip("\n") if texts[-1] else line.strip()
    return out


class Composer:
    """The /announce staff command and its buttons, served at every staff desk."""

    def __init__(self, store: Store, catalogs: Catalogs, commune: CommuneSource) -> None:
        self.store = store
        self.catalogs = catalogs
        self.commune = commune

    def _member(self, action: StaffAction) -> StaffMember | None:
        """The staff.yml member who acted (listed by Telegram user id; other desks' accounts are not staff)."""
        user_id = ascii_id(action.user_id)
        return roles(self.commune.current()).by_telegram(user_id) if user_id is not None else None

    async def compose(self, action: StaffAction) -> Sequence[Reply]:
        tr = self.catalogs.get(None)
        r = roles(self.commune.current())
        member = self._member(action)
        if member is None:
            return [Reply(tr("Bạn chưa có quyền gửi thông báo. Nhờ văn phòng UBND xã thêm bạn vào staff.yml."))]
        fields = parse(action.text)
        if not fields.get("vi") and not fields.get("en"):
            return [Reply(tr("Cách gửi thông báo:\n/announce villages: Đại Cường, Đông Lỗ (hoặc all)\ntopic: lop-hoc\n"
                             "vi: nội dung tiếng Việt\nen: English text (không bắt buộc)"))]
        try:
            villages = self._villages(", ".join(fields.get("villages", [])))
            b = await queue.create(self.store, r, member.id, topic=(fields.get("topic") or ["general"])[0][:64],
                                   text_vi="\n".join(fields.get("vi", [])), text_en="\n".join(fields.get("en", [])),
                                   villages=villages, known_villages={v.code for v in self.commune.current().villages},
                                   buttons=parse_buttons(fields.get("button", [])),
                                   due_at=parse_when(fields["at"][0] if fields.get("at") else None),
                                   report_channel=action.desk, report_chat=action.place, draft=True)
        except queue.BroadcastError as exc:
            return [Reply(tr("Chưa gửi được: {reason}", reason=str(exc)))]
        shown = preview(b, self.catalogs, tr, await self._audience(villages))
        confirm = (Button(tr("Gửi thông báo"), f"{PREFIX}:send:{b.id}"), Button(tr("Bỏ"), f"{PREFIX}:drop:{b.id}"))
        last = shown[-1]
        return [*shown[:-1], Reply(last.text, (confirm,))]

    async def pressed(self, action: StaffAction) -> Sequence[Reply]:
        tr = self.catalogs.get(None)
        r = roles(self.commune.current())
        _prefix, verb, raw_id = (action.text.split(":") + ["", ""])[:3]
        member = self._member(action)

        async def answer(notice: str, alert: bool = False) -> None:
            if action.answer is not None:
                await action.answer(notice, alert)

        try:
            broadcast_id = ascii_id(raw_id)
            if broadcast_id is None:
                raise queue.BroadcastError("not an announcement")
            if member is None:
                raise queue.BroadcastError("not staff")
            if verb == "send":
                b = await queue.confirm(self.store, r, broadcast_id, member.id)
                if b.status == "awaiting_approval":
                    await answer(tr("Đã gửi để duyệt"))
                    return [Reply(tr("Thông báo #{id} chờ người duyệt.", id=b.id),
                                  ((Button(tr("Duyệt"), f"{PREFIX}:approve:{b.id}"),),))]
                await answer(tr("Đã xếp lịch gửi"))
                return [Reply(tr("Thông báo #{id} đã vào hàng gửi. Báo cáo sẽ gửi về nhóm này.", id=b.id))]
            if verb == "approve":
                b = await queue.approve(self.store, r, broadcast_id, member.id)
                await answer(tr("Đã duyệt"))
                return [Reply(tr("Thông báo #{id} đã được {who} duyệt và vào hàng gửi.", id=b.id, who=member.name))]
            if verb == "drop":
                found = await queue.get(self.store, broadcast_id)
                if found is None or found.author != member.id:
                    raise queue.BroadcastError("only the author can drop an announcement")
                await queue.cancel(self.store, broadcast_id)
                await answer(tr("Đã bỏ"))
                return [Reply(tr("Đã bỏ thông báo #{id}.", id=broadcast_id))]
        except (ValueError, queue.BroadcastError) as exc:
            await answer(tr("Không thực hiện được: {reason}", reason=str(exc))[:200], alert=True)
            return []
        return []

    def _villages(self, text: str) -> list[str]:
        names = [t.strip() for t in text.split(",") if t.strip()]
        if not names or any(fold_words(n) in ALL for n in names):
            return []
        commune = self.commune.current()
        codes = []
        for name in names:
            v = commune.village(name) or commune.find_village(name)
            if v is None:
                raise queue.BroadcastError(f"unknown village {name!r}")
            codes.append(v.code)
        return codes

    async def _audience(self, villages: list[str]) -> int:
        from sqlalchemy import func, select

        from bot.storage.db import Resident

        stmt = select(func.count()).select_from(Resident).where(Resident.subscribed.is_(True),
                                                                Resident.blocked.is_(False))
        if villages:
            stmt = stmt.where(Resident.village.in_(villages))
        async with self.store.session() as s:
            return int((await s.execute(stmt)).scalar_one())


__all__ = ["Composer", "parse", "TIMEZONE"]
