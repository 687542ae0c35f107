"""Cases from the resident's side: opened from the pipeline's Handoff effect, the resident's messages relayed
while a case is active, the resident's case buttons. `Escalation` is the whole hand-off service: the case
book (book.py), the team's operations (team_work.py) and this side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff.book import PREFIX, Outcome, Staff
from bot.handoff.models import ACTIVE, CLOSED, OPEN, Case, CaseMessage
from bot.handoff.team_work import TeamWork
from bot.handoff.words import contacts, opened, still_unanswered
from bot.storage.db import Message
from kernel import effects as fx
from kernel.commune import place_name
from kernel.messages import Button, Reply

if TYPE_CHECKING:
    from bot.pipeline import TurnScope

HISTORY = 8  # the resident's last messages shown on the case card


class Escalation(TeamWork):
    """The hand-off service: case records, routing, relaying both ways, staff operations, reminders."""

    # --- the resident's side (inside the pipeline's turn) -------------------

    async def open_case(self, scope: TurnScope, effect: fx.Handoff,
                        fallback: Callable[[], Awaitable[list[Reply]]]) -> list[Reply]:
        """Open a case for the Handoff effect (or point to the open one), whatever channels are set up: the
        serving team's, carded in its Telegram group, else the fallback team's group, else at the web desk
        only. `fallback` only when teams.yml names no team at all."""
        s, resident, tr = scope.session, scope.resident, scope.tr
        existing = await self.active_case(s, resident.id)
        if existing is not None:
            text = tr("Yêu cầu số {case} của bạn đang được chuyển tới tổ công nghệ số. Bạn cứ nhắn tiếp ở đây, tổ "
                      "sẽ đọc được.", case=existing.id)
            serving = self.teams().get(existing.team)
            if not await self.answered(s, existing):
                text = "\n".join([tr("Yêu cầu số {case} của bạn vẫn đang mở, nhưng hiện chưa có ai của tổ trực để "
                                      "trả lời tại đây.", case=existing.id),
                                   *(contacts(tr, serving) if serving else ())])
            return [Reply(text, ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{existing.id}"),),))]
        village = effect.village or resident.village  # the effect's: chosen in this very turn, maybe
        team = self.teams().serving(village)
        if team is None:  # teams.yml names no team at all
            return await fallback()
        group = self.group_of(team)
        now = self.clock()
        recent = await recent_messages(s, resident.id, 3 * HISTORY)
        # What the resident said matters most; of the assistant's answers keep only the last one.
        last_out = max((i for i, (d, _) in enumerate(recent) if d == "out"), default=-1)
        history = [m for i, m in enumerate(recent) if m[0] == "in" or i == last_out][-HISTORY:]
        if scope.text:
            history.append(("in", scope.text))
        teams = self.teams()
        answer_from = teams.answer_from(team, now)
        # A team without a Telegram group: its card goes to the fallback team's group, as raised there at once.
        raised = group if group is not None and group.id != team.id else None
        case = Case(resident_id=resident.id, status=OPEN, team=team.id, village=village,
                    language=tr.language, channel=resident.channel, reason=effect.reason, flow=effect.flow,
                    step=effect.step, tried=list(scope.state.tried), history=[list(h) for h in history],
                    opened_at=now, due_at=answer_from.astimezone(now.tzinfo) if now.tzinfo else answer_from,
                    escalated_team=raised.id if raised else None, escalated_at=now if raised else None)
        s.add(case)
        await s.flush()
        if group is not None:
            self.to_team(s, case, group, "card", self.card(case, team), self.card_buttons(case))
        # Photos and voice notes sent just before asking for a person come with the case.
        adopted = await asyncio.to_thread(self.files.adopt, resident.id, case.id) if self.files is not None else []
        for kept in adopted:
            self.record_file(s, case, kept)
        self.store.track(s, resident.id, "handoff_open", effect.flow, effect.step,
                         {"case": case.id, "team": team.id, "reason": effect.reason})
        self.after_commit(scope.after_commit)
        where = self.commune.current().village(village)
        place = place_name(tr, where) if where else tr("chưa rõ thôn")
        text = opened(tr, case.id, place, team, teams, now, await self.answered(s, case), effect.flow)
        if adopted:
            text += "\n" + tr("Ảnh hoặc ghi âm bạn vừa gửi đã được chuyển cho tổ.")
        return [Reply(text, ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]

    async def relay(self, scope: TurnScope) -> list[Reply] | None:
        """While the resident has an active case, their typed messages go to the team (not to the engine)."""
        if scope.text is None or not await self.has_active_case(scope.tx.conn, scope.resident.id):
            return None
        case = await self.active_case(scope.session, scope.resident.id)
        if case is None:
            return None
        s = scope.session
        scope.session.add(CaseMessage(case_id=case.id, direction="in", author=None, text=scope.text,
                                      source_id=scope.incoming.message_id, created_at=self.clock()))
        self.to_case_teams(s, case, "message", self.tr("👤 Người dân (yêu cầu {case}): {text}",
                                                             case=case.id, text=scope.text))
        self.after_commit(scope.after_commit)
        text = scope.tr("Đã chuyển tới tổ công nghệ số (yêu cầu số {case}).", case=case.id)
        if not await self.answered(s, case):
            text = still_unanswered(scope.tr, case.id, self.teams().get(case.team))
        return [Reply(text, ((Button(scope.tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]

    async def on_payload(self, scope: TurnScope, payload: str) -> list[Reply]:
        """Resident buttons: `case:fb:<id>:yes|no` (was it solved?) and `case:end:<id>`."""
        parts = payload.split(":")
        tr = scope.tr
        case = None
        if len(parts) >= 3 and parts[2].isdigit():
            case = await scope.session.get(Case, int(parts[2]))
        if case is None or case.resident_id != scope.resident.id:
            return [Reply(tr("Yêu cầu này không còn nữa."), ((Button(tr("Xem danh mục"), "menu"),),))]
        if parts[1] == "fb" and len(parts) == 4 and parts[3] in ("yes", "no"):
            if case.solved is None:
                case.solved = parts[3] == "yes"
                self.store.track(scope.session, scope.resident.id, "handoff_feedback", case.flow, case.step,
                                 {"case": case.id, "solved": case.solved})
            if parts[3] == "yes":
                return [Reply(tr("Cảm ơn bạn! Rất vui vì đã giải quyết được."),
                              ((Button(tr("Xem danh mục"), "menu"),),))]
            return [Reply(tr("Tiếc quá. Bạn có thể nhờ tổ công nghệ số thêm lần nữa, hoặc chọn chủ đề khác."),
                          ((Button(tr("Gặp người hỗ trợ"), "human"), Button(tr("Xem danh mục"), "menu")),))]
        if parts[1] == "end":
            if case.status in ACTIVE:
                case.status, case.closed_at = CLOSED, self.clock()
                self.to_case_teams(scope.session, case, "notice",
                                    self.tr("Người dân đã kết thúc yêu cầu {case}.", case=case.id))
                self.close_threads(scope.session, case)
                self.store.track(scope.session, scope.resident.id, "handoff_end", case.flow, case.step,
                                 {"case": case.id})
                self.after_commit(scope.after_commit)
            return [Reply(tr("Đã kết thúc yêu cầu số {case}. Trợ lý tiếp tục giúp bạn.", case=case.id),
                          ((Button(tr("Xem danh mục"), "menu"),),))]
        return [Reply(tr("Yêu cầu này không còn nữa."), ((Button(tr("Xem danh mục"), "menu"),),))]


async def recent_messages(s: AsyncSession, resident_id: int, limit: int) -> list[tuple[str, str]]:
    """Store.recent_messages inside the turn's own transaction (SQLite has one writer: no second session)."""
    stmt = (select(Message.direction, Message.text, Message.payload)
            .where(Message.resident_id == resident_id).order_by(Message.id.desc()).limit(limit))
    rows = (await s.execute(stmt)).all()
    return [(d, t if t is not None else f"[{p}]") for d, t, p in reversed(rows)]


__all__ = ["Escalation", "Staff", "Outcome", "PREFIX"]
