"""A resident's photo or voice note, from any channel into their open case (bot.handoff.files keeps it).

With a case open, the file joins it: the team sees it at the web desk, and its Telegram group is told.
Without one, the assistant says it cannot look at files itself and offers a person; the file is held an
hour (bot.handoff.files) and joins the case if the resident asks for one (a web resident the server does not
know yet sends it again). Every answer warns against photos of ID cards, bank cards or codes.
Telegram and Zalo files come inside the turn (Incoming.media, `on_media`); the web chat's upload
(integrations/web/upload.py) calls `upload`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.handoff.book import PREFIX
from bot.handoff.cases import Escalation
from bot.handoff.files import CaseFiles, Kept, NotAccepted
from bot.handoff.models import Case, CaseMessage
from bot.storage.db import Conversation, Resident
from dialogues.state import DialogueState
from kernel.i18n import Translator
from kernel.messages import Button, MediaFile, Reply, ResidentKey
from kernel.safety import screen

if TYPE_CHECKING:
    from bot.pipeline import TurnScope

log = logging.getLogger(__name__)


def _no_case(tr: Translator) -> list[Reply]:
    return [Reply(tr("Trợ lý không xem được ảnh hay ghi âm. Nếu cần, bấm “Gặp người hỗ trợ” để nhờ tổ công nghệ "
                     "số, rồi gửi lại tệp cho tổ. Đừng gửi ảnh căn cước, thẻ ngân hàng hay mã OTP."),
                  ((Button(tr("Gặp người hỗ trợ"), "human"), Button(tr("Xem danh mục"), "menu")),))]


def _held(tr: Translator, in_guide: bool) -> list[Reply]:
    # A screenshot sent mid-guide keeps the way back to the step (the conversation has not moved).
    on = Button(tr("Tiếp tục"), "resume") if in_guide else Button(tr("Xem danh mục"), "menu")
    return [Reply(tr("Trợ lý không xem được ảnh hay ghi âm. Bấm “Gặp người hỗ trợ” để chuyển tệp này cho tổ công "
                     "nghệ số. Đừng gửi ảnh căn cước, thẻ ngân hàng hay mã OTP."),
                  ((Button(tr("Gặp người hỗ trợ"), "human"), on),))]


def _refused(tr: Translator) -> list[Reply]:
    return [Reply(tr("Tệp này không gửi được: chỉ nhận ảnh hoặc ghi âm, tối đa 10 MB."))]


class ResidentFiles:
    """A resident's files into their case: integrations.web.upload.Uploads, and the hand-off's media handler."""

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
            conv = await s.get(Conversation, resident.id) if resident is not None else None
        tr = esc.catalogs.get(resident.language if resident is not None else None)
        if resident is None:
            return "no_case", _no_case(tr)
        if case is None:
            held = await self._keep(None, data, resident.id)
            in_guide = DialogueState.from_json(conv.state if conv is not None else None).flow is not None
            return ("no_case", _held(tr, in_guide)) if held is not None else ("refused", _refused(tr))
        kept = await self._keep(case.id, data)
        if kept is None:
            return "refused", _refused(tr)
        async with esc.store.writing() as s:
            self.escalation.record_file(s, case, kept)
        esc.kick()
        return "kept", self._kept(tr, case)

    async def on_media(self, scope: TurnScope, media: MediaFile) -> list[Reply]:
        """A photo or voice note sent on a channel (Incoming.media), inside the resident's turn."""
        case = await self.escalation.active_case(scope.session, scope.resident.id)
        kept = None if media.too_large else await self._keep(case.id if case else None, media.data,
                                                              scope.resident.id)
        if kept is None:
            return _refused(scope.tr)
        if case is None:  # held: the case the resident asks for next takes it (Escalation.open_case)
            return _held(scope.tr, scope.state.flow is not None)
        self.escalation.record_file(scope.session, case, kept)
        caption = screen(media.caption).text.strip() if media.caption else ""
        if caption:  # what the resident wrote with it, redacted like any message of theirs
            esc = self.escalation
            scope.session.add(CaseMessage(case_id=case.id, direction="in", author=None, text=caption,
                                          created_at=esc.clock()))
            esc.to_case_teams(scope.session, case, "message", esc.tr("👤 Người dân (yêu cầu {case}): {text}",
                                                                     case=case.id, text=caption))
        self.escalation.after_commit(scope.after_commit)
        return self._kept(scope.tr, case)

    async def _keep(self, case_id: int | None, data: bytes, resident_id: int | None = None) -> Kept | None:
        """Kept in the case's folder, or held for the resident when there is no case; None when refused."""
        try:
            if case_id is None:
                assert resident_id is not None
                return await asyncio.to_thread(self.files.hold, resident_id, data)
            return await asyncio.to_thread(self.files.keep, case_id, data)
        except NotAccepted as exc:
            log.info("file for case %s refused: %s", case_id, exc)
            return None


    @staticmethod
    def _kept(tr: Translator, case: Case) -> list[Reply]:
        return [Reply(tr("Đã gửi tới tổ công nghệ số (yêu cầu số {case}). Đừng gửi ảnh căn cước, thẻ ngân hàng hay "
                         "mã OTP.", case=case.id), ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]
