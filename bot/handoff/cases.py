"""Cases: opened from the pipeline's Handoff effect, relayed while open, worked on by team members.

Every change and every message to deliver is written in one transaction; delivery happens after
commit from the outbox (see outbox.py), so a crash never loses a message that was accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff.card import buttons_json, card_buttons, card_text
from bot.handoff.models import ACTIVE, CLAIMED, CLOSED, OPEN, RESOLVED, RETURNED, Case, CaseMessage, CaseThread, Outbox
from bot.handoff.reminders import raise_unclaimed
from bot.handoff.routing import Team, Teams
from bot.storage.db import Message, Resident, utcnow
from bot.storage.store import Store
from dialogues.flows import Library
from kernel import effects as fx
from kernel.commune import CommuneSource
from kernel.edge import clean_text
from kernel.i18n import Catalogs, Translator
from kernel.messages import Button, Reply
from kernel.safety import screen

if TYPE_CHECKING:
    from bot.pipeline import TurnScope

log = logging.getLogger(__name__)
PREFIX = "case"  # resident button payloads: case:fb:<id>:yes|no, case:end:<id>
HISTORY = 8


@dataclass(frozen=True)
class Staff:
    """A team member acting on a case: from Telegram (`user_id`, checked against teams.yml's members), or
    from the web desk (an account: `teams` it belongs to, `everywhere` for staff and admins)."""

    user_id: int | None
    name: str
    teams: frozenset[str] | None = None
    everywhere: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a staff operation did: `ok`, and a short text for the member."""

    ok: bool
    text: str


class Escalation:
    """The hand-off service: case records, routing, relaying both ways, staff operations, reminders."""

    def __init__(self, store: Store, catalogs: Catalogs, commune: CommuneSource, library: Library,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.catalogs = catalogs
        self.commune = commune
        self.library = library
        self.clock = clock
        self.tr = catalogs.get(catalogs.default)  # teams work in the commune's language
        # Called after a commit that wrote outbox rows (the worker wakes up).
        self.kick: Callable[[], None] = lambda: None

    # --- configuration ----------------------------------------------------

    def teams(self) -> Teams:
        return self.commune.current().teams

    def reachable(self, village: str | None) -> Team | None:
        team = self.teams().route(village)
        return team if team is not None and team.chat_id is not None else None

    # --- outbox -----------------------------------------------------------

    def to_team(self, s: AsyncSession, case: Case, team: Team, kind: str, text: str,
                 buttons: Sequence[Sequence[Button]] = ()) -> None:
        s.add(Outbox(case_id=case.id, audience="team", team=team.id, channel="telegram", chat_id=str(team.chat_id),
                     kind=kind, text=text, buttons=buttons_json(buttons) or None, status="pending", attempts=0,
                     next_attempt_at=self.clock(), created_at=self.clock()))

    def to_case_teams(self, s: AsyncSession, case: Case, kind: str, text: str) -> None:
        teams = self.teams()
        for team_id in dict.fromkeys(t for t in (case.team, case.escalated_team) if t):
            team = teams.get(team_id)
            if team is not None and team.chat_id is not None:
                self.to_team(s, case, team, kind, text)

    def _to_resident(self, s: AsyncSession, case: Case, resident: Resident, kind: str, reply: Reply) -> None:
        s.add(Outbox(case_id=case.id, audience="resident", team=None, channel=resident.channel,
                     chat_id=resident.platform_id, kind=kind, text=reply.text,
                     buttons=buttons_json(reply.buttons) or None, status="pending", attempts=0,
                     next_attempt_at=self.clock(), created_at=self.clock()))

    def _after(self, scope_after: list[Callable[[], Awaitable[None]]]) -> None:
        async def wake() -> None:
            self.kick()
        scope_after.append(wake)

    # --- the resident's side (inside the pipeline's turn) -------------------

    async def open_case(self, scope: TurnScope, effect: fx.Handoff,
                        fallback: Callable[[], Awaitable[list[Reply]]]) -> list[Reply]:
        """Open a case for the Handoff effect (or point to the open one); `fallback` when no team is reachable."""
        s, resident, tr = scope.session, scope.resident, scope.tr
        existing = await self.active_case(s, resident.id)
        if existing is not None:
            return [Reply(tr("Yêu cầu số {case} của bạn đang được chuyển tới tổ công nghệ số. Bạn cứ nhắn "
                             "tiếp ở đây, tổ sẽ đọc được.", case=existing.id),
                          ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{existing.id}"),),))]
        village = effect.village or resident.village  # the effect's: chosen in this very turn, maybe
        team = self.reachable(village)
        if team is None:
            return await fallback()
        now = self.clock()
        recent = await recent_messages(s, resident.id, 3 * HISTORY)
        # What the resident said matters most; of the assistant's answers keep only the last one.
        last_out = max((i for i, (d, _) in enumerate(recent) if d == "out"), default=-1)
        history = [m for i, m in enumerate(recent) if m[0] == "in" or i == last_out][-HISTORY:]
        if scope.text:
            history.append(("in", scope.text))
        teams = self.teams()
        answer_from = teams.answer_from(team, now)
        case = Case(resident_id=resident.id, status=OPEN, team=team.id, village=village,
                    language=tr.language, channel=resident.channel, reason=effect.reason, flow=effect.flow,
                    step=effect.step, tried=list(scope.state.tried), history=[list(h) for h in history],
                    opened_at=now, due_at=answer_from.astimezone(now.tzinfo) if now.tzinfo else answer_from)
        s.add(case)
        await s.flush()
        self.to_team(s, case, team, "card", self.card(case, team), self.card_buttons(case))
        self.store.track(s, resident.id, "handoff_open", effect.flow, effect.step,
                         {"case": case.id, "team": team.id, "reason": effect.reason})
        self._after(scope.after_commit)
        return [Reply(self._when(tr, case, team, now), ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]

    def _when(self, tr: Translator, case: Case, team: Team, now: datetime) -> str:
        teams = self.teams()
        if team.hours.is_open(teams.local(now)):
            return tr("Đã chuyển yêu cầu số {case} tới {team}. Một người trong tổ sẽ trả lời bạn ngay tại đây, "
                      "thường trong khoảng {minutes} phút. Bạn cứ nhắn thêm, tổ sẽ đọc được.",
                      case=case.id, team=team.name, minutes=int(teams.remind_after.total_seconds() // 60))
        back = teams.answer_from(team, now)
        return tr("Đã chuyển yêu cầu số {case} tới {team}. Tổ đang nghỉ; một người trong tổ sẽ trả lời bạn "
                  "ngay tại đây từ {time} ngày {date}. Bạn cứ nhắn thêm, tổ sẽ đọc được.",
                  case=case.id, team=team.name, time=back.strftime("%H:%M"), date=back.strftime("%d/%m"))

    async def relay(self, scope: TurnScope) -> list[Reply] | None:
        """While the resident has an active case, their typed messages go to the team (not to the engine)."""
        if scope.text is None:
            return None
        case = await self.active_case(scope.session, scope.resident.id)
        if case is None:
            return None
        s = scope.session
        scope.session.add(CaseMessage(case_id=case.id, direction="in", author=None, text=scope.text,
                                      source_id=scope.incoming.message_id, created_at=self.clock()))
        self.to_case_teams(s, case, "message", self.tr("👤 Người dân (yêu cầu {case}): {text}",
                                                             case=case.id, text=scope.text))
        self._after(scope.after_commit)
        return [Reply(scope.tr("Đã chuyển tới tổ công nghệ số (yêu cầu số {case}).", case=case.id),
                      ((Button(scope.tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),))]

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
                self.store.track(scope.session, scope.resident.id, "handoff_end", case.flow, case.step,
                                 {"case": case.id})
                self._after(scope.after_commit)
            return [Reply(tr("Đã kết thúc yêu cầu số {case}. Trợ lý tiếp tục giúp bạn.", case=case.id),
                          ((Button(tr("Xem danh mục"), "menu"),),))]
        return [Reply(tr("Yêu cầu này không còn nữa."), ((Button(tr("Xem danh mục"), "menu"),),))]

    @staticmethod
    async def active_case(s: AsyncSession, resident_id: int) -> Case | None:
        stmt = (select(Case).where(Case.resident_id == resident_id, Case.status.in_(ACTIVE))
                .order_by(Case.id.desc()).limit(1))
        return (await s.execute(stmt)).scalar_one_or_none()

    # --- what the team sees -----------------------------------------------

    def card(self, case: Case, team: Team) -> str:
        return card_text(self.tr, self.commune.current(), self.library, case, team)

    def card_buttons(self, case: Case) -> tuple[tuple[Button, ...], ...]:
        return card_buttons(self.tr, case)

    # --- staff operations (from Telegram; plain async functions) --------------

    def may_act(self, case: Case, staff: Staff) -> bool:
        """Members of the case's team, of the team it was escalated to, and of the fallback team; at the web
        desk, accounts of the case's team or of the team it was raised to, and staff and admins."""
        if staff.teams is not None:
            return staff.everywhere or case.team in staff.teams or case.escalated_team in staff.teams
        teams = self.teams()
        for team_id in (case.team, case.escalated_team, teams.fallback):
            team = teams.get(team_id)
            if team is not None and staff.user_id in team.members:
                return True
        return False

    async def _case_for(self, s: AsyncSession, case_id: int, staff: Staff) -> tuple[Case | None, Outcome | None]:
        case = await s.get(Case, case_id, with_for_update=True)
        if case is None:
            return None, Outcome(False, self.tr("Không có yêu cầu {case}.", case=case_id))
        if not self.may_act(case, staff):
            log.warning("staff %s refused on case %s: not a member", staff.user_id, case_id)
            return None, Outcome(False, self.tr("Chỉ thành viên của tổ mới được nhận và trả lời yêu cầu này."))
        return case, None

    async def _resident(self, s: AsyncSession, case: Case) -> tuple[Resident | None, Translator]:
        resident = await s.get(Resident, case.resident_id)
        return resident, self.catalogs.get(case.language)

    async def claim(self, case_id: int, staff: Staff) -> Outcome:
        async with self.store.writing() as s:
            case, refused = await self._case_for(s, case_id, staff)
            if case is None:
                return refused  # type: ignore[return-value]
            if case.status != OPEN:
                who = case.assignee_name or ""
                return Outcome(False, self.tr("Yêu cầu {case} đã được nhận ({who}) hoặc đã đóng.",
                                                   case=case.id, who=who))
            self._claim(s, case, staff)
            await self._claimed_notices(s, case, staff)
        self.kick()
        return Outcome(True, self.tr("Bạn đã nhận yêu cầu {case}.", case=case_id))

    def _claim(self, s: AsyncSession, case: Case, staff: Staff) -> None:
        case.status, case.assignee_id, case.assignee_name, case.claimed_at = CLAIMED, staff.user_id, staff.name, \
            self.clock()
        self.store.track(s, case.resident_id, "handoff_claim", case.flow, case.step, {"case": case.id})

    async def _claimed_notices(self, s: AsyncSession, case: Case, staff: Staff) -> None:
        self.to_case_teams(s, case, "notice", self.tr("✋ {name} đã nhận yêu cầu {case}.", name=staff.name,
                                                            case=case.id))
        resident, tr = await self._resident(s, case)
        if resident is not None:
            self._to_resident(s, case, resident, "notice", Reply(tr(
                "{name} ở tổ công nghệ số đã nhận yêu cầu số {case} và sẽ trả lời bạn ngay tại đây.",
                name=staff.name, case=case.id)))

    async def reply(self, case_id: int, staff: Staff, text: str, source_id: str | None = None) -> Outcome:
        """A member's message to the resident (claims the case if nobody has yet). Redacted like a resident's
        (kernel.safety, the one redaction) before it is stored or forwarded: an ID or an OTP a member
        pastes must not stay in the case's messages or the outbox."""
        text = screen(clean_text(text)).text.strip()
        if not text:
            return Outcome(False, self.tr("Tin nhắn trống."))
        async with self.store.writing() as s:
            case, refused = await self._case_for(s, case_id, staff)
            if case is None:
                return refused  # type: ignore[return-value]
            if case.status not in ACTIVE:
                return Outcome(False, self.tr("Yêu cầu {case} đã đóng; tin nhắn không được gửi.", case=case.id))
            if source_id is not None:
                dup = await s.execute(select(CaseMessage.id).where(CaseMessage.case_id == case.id,
                                                                   CaseMessage.source_id == source_id))
                if dup.first() is not None:
                    return Outcome(True, "")  # a redelivered update: already relayed
            if case.status == OPEN:
                self._claim(s, case, staff)
                await self._claimed_notices(s, case, staff)
            s.add(CaseMessage(case_id=case.id, direction="out", author=staff.name, text=text, source_id=source_id,
                              created_at=self.clock()))
            resident, tr = await self._resident(s, case)
            if resident is None:
                return Outcome(False, self.tr("Người dân đã xoá thông tin; không gửi được."))
            self._to_resident(s, case, resident, "message", Reply(
                tr("💬 {name} (tổ công nghệ số): {text}", name=staff.name, text=text),
                ((Button(tr("Kết thúc yêu cầu"), f"{PREFIX}:end:{case.id}"),),)))
        self.kick()
        return Outcome(True, "")

    async def resolve(self, case_id: int, staff: Staff) -> Outcome:
        async with self.store.writing() as s:
            case, refused = await self._case_for(s, case_id, staff)
            if case is None:
                return refused  # type: ignore[return-value]
            if case.status not in ACTIVE:
                return Outcome(False, self.tr("Yêu cầu {case} đã đóng.", case=case.id))
            case.status, case.closed_at = RESOLVED, self.clock()
            case.assignee_id = case.assignee_id or staff.user_id
            case.assignee_name = case.assignee_name or staff.name
            self.store.track(s, case.resident_id, "handoff_resolve", case.flow, case.step, {"case": case.id})
            self.to_case_teams(s, case, "notice", self.tr("✅ {name} đã đóng yêu cầu {case}.",
                                                                name=staff.name, case=case.id))
            resident, tr = await self._resident(s, case)
            if resident is not None:
                self._to_resident(s, case, resident, "feedback", Reply(
                    tr("Tổ công nghệ số đã đánh dấu yêu cầu số {case} là xong. Vấn đề của bạn đã được giải quyết "
                       "chưa?", case=case.id),
                    ((Button(tr("Đã xong"), f"{PREFIX}:fb:{case.id}:yes"),
                      Button(tr("Chưa được"), f"{PREFIX}:fb:{case.id}:no")),)))
        self.kick()
        return Outcome(True, self.tr("Đã đóng yêu cầu {case}.", case=case_id))

    async def hand_back(self, case_id: int, staff: Staff) -> Outcome:
        async with self.store.writing() as s:
            case, refused = await self._case_for(s, case_id, staff)
            if case is None:
                return refused  # type: ignore[return-value]
            if case.status not in ACTIVE:
                return Outcome(False, self.tr("Yêu cầu {case} đã đóng.", case=case.id))
            case.status, case.closed_at = RETURNED, self.clock()
            self.store.track(s, case.resident_id, "handoff_back", case.flow, case.step, {"case": case.id})
            self.to_case_teams(s, case, "notice", self.tr("↩️ {name} đã trả yêu cầu {case} về trợ lý.",
                                                                name=staff.name, case=case.id))
            resident, tr = await self._resident(s, case)
            if resident is not None:
                self._to_resident(s, case, resident, "notice", Reply(
                    tr("Tổ công nghệ số đã chuyển bạn lại cho trợ lý. Bạn chọn chủ đề hoặc nhắn câu hỏi nhé."),
                    ((Button(tr("Xem danh mục"), "menu"),),)))
        self.kick()
        return Outcome(True, self.tr("Đã trả yêu cầu {case} về trợ lý.", case=case_id))

    async def reassign(self, case_id: int, staff: Staff, team_id: str) -> Outcome:
        """Move a case to another team (its card goes to that team's group)."""
        target = self.teams().get(team_id)
        if target is None or target.chat_id is None:
            return Outcome(False, self.tr("Không có tổ “{team}” (hoặc tổ chưa có nhóm Telegram).", team=team_id))
        async with self.store.writing() as s:
            case, refused = await self._case_for(s, case_id, staff)
            if case is None:
                return refused  # type: ignore[return-value]
            if case.status not in ACTIVE:
                return Outcome(False, self.tr("Yêu cầu {case} đã đóng.", case=case.id))
            self.to_case_teams(s, case, "notice", self.tr("➡️ {name} đã chuyển yêu cầu {case} cho {team}.",
                                                                name=staff.name, case=case.id, team=target.name))
            case.team, case.escalated_team = target.id, None
            case.status, case.assignee_id, case.assignee_name, case.claimed_at = OPEN, None, None, None
            now = self.clock()
            case.due_at, case.reminded_at, case.escalated_at = self.teams().answer_from(target, now), None, None
            self.to_team(s, case, target, "card", self.card(case, target), self.card_buttons(case))
        self.kick()
        return Outcome(True, self.tr("Đã chuyển yêu cầu {case} cho {team}.", case=case_id, team=target.name))

    async def list_open(self, staff: Staff) -> Outcome:
        """The active cases of every team the member belongs to."""
        teams = self.teams()
        mine = [t.id for t in teams.teams if staff.user_id in t.members]
        if not mine:
            return Outcome(False, self.tr("Chỉ thành viên của tổ mới xem được danh sách yêu cầu."))
        commune_wide = teams.fallback in mine
        async with self.store.session() as s:
            stmt = select(Case).where(Case.status.in_(ACTIVE)).order_by(Case.id)
            if not commune_wide:
                stmt = stmt.where(or_(Case.team.in_(mine), Case.escalated_team.in_(mine)))
            cases = (await s.execute(stmt.limit(50))).scalars().all()
        if not cases:
            return Outcome(True, self.tr("Không có yêu cầu nào đang mở."))
        commune = self.commune.current()
        lines = [self.tr("Yêu cầu đang mở:")]
        for c in cases:
            village = commune.village(c.village)
            state = (self.tr("đã nhận: {name}", name=c.assignee_name) if c.status == CLAIMED
                     else self.tr("chưa ai nhận"))
            lines.append(f"#{c.id} · {village.label if village else c.village or '?'} · {c.team} · {state}")
        return Outcome(True, "\n".join(lines))

    async def show(self, case_id: int, staff: Staff) -> Outcome:
        async with self.store.session() as s:
            case = await s.get(Case, case_id)
            if case is None:
                return Outcome(False, self.tr("Không có yêu cầu {case}.", case=case_id))
            if not self.may_act(case, staff):
                return Outcome(False, self.tr("Chỉ thành viên của tổ mới xem được yêu cầu này."))
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

    async def case_for_message(self, chat_id: int, topic_id: int | None, reply_to: int | None) -> int | None:
        """The case a team message belongs to: its forum topic, or the card/relayed message it replies to."""
        async with self.store.session() as s:
            if topic_id is not None:
                row = (await s.execute(select(CaseThread.case_id).where(
                    CaseThread.chat_id == chat_id, CaseThread.topic_id == topic_id))).first()
                if row is not None:
                    return int(row[0])
            if reply_to is not None:
                row = (await s.execute(select(Outbox.case_id).where(
                    Outbox.chat_id == str(chat_id), Outbox.platform_message_id == str(reply_to)))).first()
                if row is not None:
                    return int(row[0])
        return None

    async def tick(self, now: datetime | None = None) -> int:
        """Raise unclaimed cases again, then send them to the fallback team; returns how many were raised."""
        raised = await raise_unclaimed(self, now or self.clock())
        if raised:
            self.kick()
        return raised


async def recent_messages(s: AsyncSession, resident_id: int, limit: int) -> list[tuple[str, str]]:
    """Store.recent_messages inside the turn's own transaction (SQLite has one writer: no second session)."""
    stmt = (select(Message.direction, Message.text, Message.payload)
            .where(Message.resident_id == resident_id).order_by(Message.id.desc()).limit(limit))
    rows = (await s.execute(stmt)).all()
    return [(d, t if t is not None else f"[{p}]") for d, t, p in reversed(rows)]


__all__ = ["Escalation", "Staff", "Outcome", "PREFIX", "buttons_json"]
