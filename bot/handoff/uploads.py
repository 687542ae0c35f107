"""A resident's photo or voice note, from a channel into their open case (bot.handoff.files keeps it).

With a case open, the file joins it: the team sees it at the web desk, and its Telegram group is told.
Without one, the assistant says it cannot look at files itself and offers a person (the resident sends
the file again once the case is open). Every answer warns against photos of ID cards, bank cards or codes.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.handoff.book import PREFIX
from bot.handoff.cases import Escalation
from bot.handoff.files import CaseFiles, NotAccepted
from bot.handoff.models import CaseMessage
from bot.storage.db import Resident
from kernel.messages import Button, Reply, ResidentKey

log = logging.getLogger(__name__)


class ResidentFiles:
    """integrations.web.upload.Uploads on the hand-off's cases."""

    def __init__(self, escalation: Escalation, files: CaseFiles) -> None:
        self.escalation = escalation
        self.files = files

    async def upload(self, who: ResidentKey, data: bytes) -> tuple[str, list[Reply]]:
        """("kept" | "no_case" | "refused", the answer to show the resident)."""
        esc = self.escalation
        async with esc.store.session() as s:
            stmt = select(Resident).where(Resident.channel == who.channel, Resident.platform_id == who.user_id)
            resident = (await s.execute(stmt)).scalar_one_or_none()
            case = await esc.active_case(s, resident.id) if resident is not None else None
        tr = esc.catalogs.get(resident.language if resident is not None else None)
        if case is None:
            return "no_case", [Reply(tr("Trợ lý không xem được ảnh hay ghi âm. Nếu cần, bấm “Gặp người hỗ trợ” để nhờ "
                                    "tổ công nghệ số, rồi gửi lại tệp cho tổ. Đừng gửi ảnh căn cước, thẻ ngân hàng "
                                    "hay mã OTP."),
                                 ((Button(tr("Gặp người hỗ trợ"), "human"), Button(tr("Xem danh mục"), "menu")),))]
        try:
            kept = await asyncio.to_thread(self.files.keep, case.id, data)
        except NotAccepted as exc:
            log.info("file for case %s refused: %s", case.id, exc)
            return "refused", [Reply(tr("Tệp này không gửi được: chỉ nhận ảnh hoặc ghi âm, tối đa 10 MB."))]
        what = tr("📷 Ảnh") if kept.kind == "image" else tr("🎤 Ghi âm")
        async with esc.store.writing() as s:
            s.add(CaseMessage(case_id=case.id, direction="in", author=None, text=what, source_id=f"file:{kept.name}",
                              created_at=esc.clock()))
            esc.to_case_teams(s, case, "message", esc.tr("{what} từ người dân (yêu cầu {case}): xem ở trang web của "
                                                         "tổ, /staff/", what=esc.tr("📷 Ảnh") if kept.kind == "image"
                                                         else esc.tr("🎤 Ghi âm"), case=case.id))
        esc.kick()
        return "kept", [Reply(tr("Đã gửi tới tổ công nghệ số (yêu cầu số {case}). Đừng gửi ảnh căn cước, thẻ ngân "
                               "hàng hay mã OTP.", case=case.id),
                            ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]
