"""What team members do to a case, from any staff desk (Telegram groups, the web desk): claim, answer the
resident, resolve, hand back to the assistant, move to another team, list and show cases.

Each operation runs in one transaction with the messages it writes for delivery, then wakes the outbox.
A member's text is redacted like a resident's before it is stored or forwarded.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff.book import PREFIX, CaseBook, Outcome, Staff
from bot.handoff.models import ACTIVE, CLAIMED, CLOSED, OPEN, RESOLVED, RETURNED, Case, CaseMessage
from kernel.edge import clean_text
from kernel.messages import Button, Reply
from kernel.safety import screen


class TeamWork(CaseBook):
    """The team's operations on cases (each returns an Outcome: ok, and a short text for the member)."""

    async def claim(self, case_id: int, staff: Staff) -> Outcome:
        _ = self.said(staff)  # what the member is told, in their language
        async with self.store.writing() as s:
            case = await self.case_for(s, case_id, staff)
            if isinstance(case, Outcome):
                return case
            if case.status != OPEN:
                who = case.assignee_name or ""
                return Outcome(False, _("Yêu cầu {case} đã được nhận ({who}) hoặc đã đóng.",
                                      case=case.id, who=who))
            self.take(s, case, staff)
            await self.claimed_notices(s, case, staff)
        self.kick()
        return Outcome(True, _("Bạn đã nhận yêu cầu {case}.", case=case_id))

    def take(self, s: AsyncSession, case: Case, staff: Staff) -> None:
        case.status, case.assignee_id, case.assignee_name, case.claimed_at = CLAIMED, staff.user_id, staff.name, \
            self.clock()
        self.store.track(s, case.resident_id, "handoff_claim", case.flow, case.step, {"case": case.id})

    async def claimed_notices(self, s: AsyncSession, case: Case, staff: Staff) -> None:
        self.to_case_teams(s, case, "notice", self.tr("✋ {name} đã nhận yêu cầu {case}.", name=staff.name,
                                                            case=case.id))
        resident, tr = await self.resident_of(s, case)
        if resident is not None:
            self.to_resident(s, case, resident, "notice", Reply(tr(
                "{name} ở tổ công nghệ số đã nhận yêu cầu số {case} và sẽ trả lời bạn ngay tại đây.",
                name=staff.name, case=case.id)))

    async def reply(self, case_id: int, staff: Staff, text: str, source_id: str | None = None) -> Outcome:
        """A member's message to the resident (claims the case if nobody has yet). Redacted like a resident's
        (kernel.safety, the one redaction) before it is stored or forwarded: an ID or an OTP a member
        pastes must not stay in the case's messages or the outbox."""
        _ = self.said(staff)  # what the member is told, in their language
        text = screen(clean_text(text)).text.strip()
        if not text:
            return Outcome(False, _("Tin nhắn trống."))
        async with self.store.writing() as s:
            case = await self.open_case_for(
                s, case_id, staff, _("Yêu cầu {case} đã đóng; tin nhắn không được gửi.", case=case_id))
            if isinstance(case, Outcome):
                return case
            if source_id is not None:
                dup = await s.execute(select(CaseMessage.id).where(CaseMessage.case_id == case.id,
                                                                   CaseMessage.source_id == source_id))
                if dup.first() is not None:
                    return Outcome(True, "")  # a redelivered update: already relayed
            if case.status == OPEN:
                self.take(s, case, staff)
                await self.claimed_notices(s, case, staff)
            s.add(CaseMessage(case_id=case.id, direction="out", author=staff.name, text=text, source_id=source_id,
                              created_at=self.clock()))
            if staff.teams is not None:  # answered at the web desk: the Telegram group sees it too
                self.to_case_teams(s, case, "notice", self.tr("💬 {name} (trang web của tổ): {text}",
                                                              name=staff.name, text=text))
            resident, tr = await self.resident_of(s, case)
            if resident is None:
                return Outcome(False, _("Người dân đã xoá thông tin; không gửi được."))
            self.to_resident(s, case, resident, "message", Reply(
                tr("💬 {name} (tổ công nghệ số): {text}", name=staff.name, text=text),
                ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),)))
        self.kick()
        return Outcome(True, "")

    async def resolve(self, case_id: int, staff: Staff) -> Outcome:
        _ = self.said(staff)  # what the member is told, in their language
        async with self.store.writing() as s:
            case = await self.open_case_for(s, case_id, staff)
            if isinstance(case, Outcome):
                return case
            case.status, case.closed_at = RESOLVED, self.clock()
            case.assignee_id = case.assignee_id or staff.user_id
            case.assignee_name = case.assignee_name or staff.name
            self.store.track(s, case.resident_id, "handoff_resolve", case.flow, case.step, {"case": case.id})
            self.to_case_teams(s, case, "notice", self.tr("✅ {name} đã đóng yêu cầu {case}.",
                                                                name=staff.name, case=case.id))
            self.close_threads(s, case)
            resident, tr = await self.resident_of(s, case)
            if resident is not None:
                self.to_resident(s, case, resident, "feedback", Reply(
                    tr("Tổ công nghệ số đã đánh dấu yêu cầu số {case} là xong. Vấn đề của bạn đã được giải quyết "
                       "chưa?", case=case.id),
                    ((Button(tr("Đã xong"), f"{PREFIX}:fb:{case.id}:yes"),
                      Button(tr("Chưa được"), f"{PREFIX}:fb:{case.id}:no")),)))
        self.kick()
        return Outcome(True, _("Đã đóng yêu cầu {case}.", case=case_id))

    async def hand_back(self, case_id: int, staff: Staff) -> Outcome:
        _ = self.said(staff)  # what the member is told, in their language
        async with self.store.writing() as s:
            case = await self.open_case_for(s, case_id, staff)
            if isinstance(case, Outcome):
                return case
            case.status, case.closed_at = RETURNED, self.clock()
            self.store.track(s, case.resident_id, "handoff_back", case.flow, case.step, {"case": case.id})
            self.to_case_teams(s, case, "notice", self.tr("↩️ {name} đã trả yêu cầu {case} về trợ lý.",
                                                                name=staff.name, case=case.id))
            self.close_threads(s, case)
            resident, tr = await self.resident_of(s, case)
            if resident is not None:
                self.to_resident(s, case, resident, "notice", Reply(
                    tr("Tổ công nghệ số đã chuyển bạn lại cho trợ lý. Bạn chọn chủ đề hoặc nhắn câu hỏi nhé."),
                    ((Button(tr("Xem danh mục"), "menu"),),)))
        self.kick()
        return Outcome(True, _("Đã trả yêu cầu {case} về trợ lý.", case=case_id))

    async def reassign(self, case_id: int, staff: Staff, team_id: str) -> Outcome:
        """Move a case to another team (its card goes to that team's group, if it has one; the web desk shows
        it to the team's accounts either way)."""
        _ = self.said(staff)  # what the member is told, in their language
        target = self.teams().get(team_id)
        if target is None:
            return Outcome(False, _("Không có tổ “{team}”.", team=team_id))
        async with self.store.writing() as s:
            case = await self.open_case_for(s, case_id, staff)
            if isinstance(case, Outcome):
                return case
            self.to_case_teams(s, case, "notice", self.tr("➡️ {name} đã chuyển yêu cầu {case} cho {team}.",
                                                                name=staff.name, case=case.id, team=target.name))
            case.team, case.escalated_team = target.id, None
            case.status, case.assignee_id, case.assignee_name, case.claimed_at = OPEN, None, None, None
            now = self.clock()
            case.due_at, case.reminded_at, case.escalated_at = self.teams().answer_from(target, now), None, None
            if target.chat_id is not None:
                self.to_team(s, case, target, "card", self.card(case, target), self.card_buttons(case))
        self.kick()
        return Outcome(True, _("Đã chuyển yêu cầu {case} cho {team}.", case=case_id, team=target.name))

    async def list_open(self, staff: Staff) -> Outcome:
        """The active cases of every team the member belongs to."""
        _ = self.said(staff)  # what the member is told, in their language
        teams = self.teams()
        mine = [t.id for t in teams.teams if staff.user_id in t.members]
        if not mine:
            return Outcome(False, _("Chỉ thành viên của tổ mới xem được danh sách yêu cầu."))
        commune_wide = teams.fallback in mine
        async with self.store.session() as s:
            stmt = select(Case).where(Case.status.in_(ACTIVE)).order_by(Case.id)
            if not commune_wide:
                stmt = stmt.where(or_(Case.team.in_(mine), Case.escalated_team.in_(mine)))
            cases = (await s.execute(stmt.limit(50))).scalars().all()
        if not cases:
            return Outcome(True, _("Không có yêu cầu nào đang mở."))
        commune = self.commune.current()
        lines = [self.tr("Yêu cầu đang mở:")]
        for c in cases:
            village = commune.village(c.village)
            state = (self.tr("đã nhận: {name}", name=c.assignee_name) if c.status == CLAIMED
                     else self.tr("chưa ai nhận"))
            lines.append(f"#{c.id} · {village.label if village else c.village or '?'} · {c.team} · {state}")
        return Outcome(True, "\n".join(lines))

    async def show(self, case_id: int, staff: Staff) -> Outcome:
        _ = self.said(staff)  # what the member is told, in their language
        async with self.store.session() as s:
            case = await s.get(Case, case_id)
            if case is None:
                return Outcome(False, _("Không có yêu cầu {case}.", case=case_id))
            if not self.may_act(case, staff):
                return Outcome(False, _("Chỉ thành viên của tổ mới xem được yêu cầu này."))
            msgs = (await s.execute(select(CaseMessage).where(CaseMessage.case_id == case_id)
                                    .order_by(CaseMessage.id.desc()).limit(10))).scalars().all()
        team = self.teams().get(case.team)
        text = self.card(case, team) if team else f"#{case.id}"
        status = {OPEN: self.tr("chưa ai nhận"), CLAIMED: self.tr("đã nhận: {name}",
                                                                          name=case.assignee_name),
                  RESOLVED: self.tr("đã xong"), RETURNED: self.tr("đã trả về trợ lý"),
                  CLOSED: self.tr("người dân đã kết thúc")}.get(case.status, case.status)
        lines = [text, self.tr("Trạng thái: {status}", status=status)]
        if msgs:
            lines.append(self.tr("Trao đổi:"))
            lines += [("👤 " if m.direction == "in" else f"💬 {m.author}: ") + m.text[:300] for m in reversed(msgs)]
        return Outcome(True, "\n".join(lines)[:4000])
