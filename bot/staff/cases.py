"""The web desk's case book (integrations.web.desk_api.CaseBook) on the hand-off's storage.

Reads come straight from the case tables; every change goes through the hand-off service
(bot.handoff.Escalation), the same operations a Telegram group uses, so whichever desk acts, the resident
gets one message through the one outbox, and the other desk sees it (the case's messages, its state, and
a notice in the Telegram group).

Who sees what: an account with the role member sees the cases of its teams and those raised to one of
its teams (a member of the fallback team sees what was escalated to it); staff and admins see all.

Why not through the StaffDesk port (kernel.ports) like the Telegram desk: that port is for desks the
features push to (post, threads) and whose members' actions come back as text (StaffAction -> Replies).
The web desk pulls: it reads the inbox, a case and its files, and answers each action with the case or a
403/404/409. Routed through the port it would still need these reads, would lose the statuses and the
result, and would have to carry the account (teams, role, language) in StaffAction's strings; its
post/open_thread/close_thread would do nothing. So it calls the same hand-off operations directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select

from bot.handoff.cases import Escalation, Outcome, Staff
from bot.handoff.models import ACTIVE, CLAIMED, OPEN, Case, CaseMessage
from bot.handoff.reminders import aware
from integrations.web.desk_api import CaseDetail, CaseQuery, CaseRefused, CaseSummary, DeskMessage, DeskOptions
from integrations.web.desk_auth import StaffUser
from kernel.i18n import Translator

LIMIT = 200
PREVIEW = 140
ENDED = ("resolved", "returned", "closed")


def _file(m: CaseMessage) -> tuple[str | None, str | None]:
    """(name, kind) of the file a resident's message carries (bot.handoff.uploads), else (None, None)."""
    if m.direction != "in" or not (m.source_id or "").startswith("file:"):
        return None, None
    name = (m.source_id or "")[5:]
    return name, "image" if name.endswith(".jpg") else "audio"


def _iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


class DeskCases:
    """Cases for the web desk, with each account's visibility."""

    def __init__(self, escalation: Escalation) -> None:
        self.escalation = escalation

    # --- who may see what ---------------------------------------------------------------

    @staticmethod
    def staff(user: StaffUser) -> Staff:
        return Staff(None, user.username, teams=frozenset(user.teams), everywhere=user.sees_all,
                     language=user.language)

    def _tr(self, user: StaffUser) -> Translator:
        """What the desk says to this account, in its page's language (else the commune's)."""
        return self.escalation.catalogs.get(user.language)

    def _visible(self, stmt: Select[Any], user: StaffUser) -> Select[Any]:
        if user.sees_all:
            return stmt
        mine = list(user.teams)
        return stmt.where(or_(Case.team.in_(mine), Case.escalated_team.in_(mine)))

    # --- reading ------------------------------------------------------------------------

    async def cases(self, user: StaffUser, query: CaseQuery) -> Sequence[CaseSummary]:
        stmt = self._visible(select(Case), user)
        if query.state in ("open", "claimed"):
            stmt = stmt.where(Case.status == query.state)
        elif query.state in ("waiting", "active"):
            stmt = stmt.where(Case.status.in_(ACTIVE))
        elif query.state == "resolved":
            stmt = stmt.where(Case.status.in_(ENDED))
        if query.village:
            stmt = stmt.where(Case.village == query.village)
        if query.team:
            stmt = stmt.where(or_(Case.team == query.team, Case.escalated_team == query.team))
        newest_first = query.state in ("resolved", "all")
        stmt = stmt.order_by(Case.id.desc() if newest_first else Case.id).limit(LIMIT)
        async with self.escalation.store.session() as s:
            rows = list((await s.execute(stmt)).scalars())
            last = await self._last_messages(s, [c.id for c in rows])
        out = [self._summary(c, last.get(c.id)) for c in rows]
        if query.state == "waiting":
            out = [c for c in out if c.state == CLAIMED and c.waiting == "resident"]
        return out

    @staticmethod
    async def _last_messages(s: Any, ids: list[int]) -> dict[int, CaseMessage]:
        if not ids:
            return {}
        newest = (select(func.max(CaseMessage.id)).where(CaseMessage.case_id.in_(ids))
                  .group_by(CaseMessage.case_id))
        rows = (await s.execute(select(CaseMessage).where(CaseMessage.id.in_(newest)))).scalars()
        return {m.case_id: m for m in rows}

    async def _load(self, user: StaffUser, case_id: int) -> Case:
        tr = self._tr(user)
        async with self.escalation.store.session() as s:
            case = await s.get(Case, case_id)
        if case is None:
            raise CaseRefused(404, tr("Không có yêu cầu {case}.", case=case_id))
        if not self.escalation.may_act(case, self.staff(user)):
            raise CaseRefused(403, tr("Yêu cầu này thuộc tổ khác."))
        return case

    async def case(self, user: StaffUser, case_id: int) -> CaseDetail:
        await self._load(user, case_id)
        return await self._detail(case_id, self._tr(user))

    async def _detail(self, case_id: int, tr: Translator) -> CaseDetail:
        async with self.escalation.store.session() as s:
            case = await s.get(Case, case_id)
            assert case is not None
            messages = list((await s.execute(select(CaseMessage).where(CaseMessage.case_id == case_id)
                                              .order_by(CaseMessage.id))).scalars())
        opened = _iso(case.opened_at) or ""
        said = [DeskMessage("resident" if d == "in" else "assistant", text or "", opened)
                for d, text in case.history or ()]
        said += [DeskMessage("resident" if m.direction == "in" else "staff", m.text, _iso(m.created_at) or "",
                             m.author if m.direction == "out" else None, *_file(m)) for m in messages]
        flow_title, step, steps, tried = self._where(case, tr)
        return CaseDetail(self._summary(case, messages[-1] if messages else None), case.flow, flow_title, step,
                          steps, tried, tuple(said), may_act=case.status in ACTIVE)

    def _where(self, case: Case, tr: Translator) -> tuple[str | None, int | None, int | None, tuple[str, ...]]:
        """The guide's title, the step (1-based) and the step count, and the steps tried, as the team reads them."""
        flow = self.escalation.library.get(case.flow) if case.flow else None
        if flow is None:
            return None, None, None, ()
        ids = [s.id for s in flow.steps]
        step = ids.index(case.step) + 1 if case.step in ids else None
        tried = tuple(str(ids.index(t) + 1) if t in ids else str(t) for t in case.tried or ())
        return tr(flow.title), step, len(ids), tried

    def _summary(self, case: Case, last: CaseMessage | None) -> CaseSummary:
        teams = self.escalation.teams()
        village = self.escalation.commune.current().village(case.village)
        team = teams.get(case.team)
        due = aware(case.due_at)
        remind_at = escalate_at = None
        if case.status == OPEN:
            if case.reminded_at is None:
                remind_at = _iso(due + teams.remind_after)
            fallback = teams.fallback_team()
            if case.escalated_at is None and fallback is not None and fallback.id != case.team:
                escalate_at = _iso(due + teams.escalate_after)
        waiting = None
        if case.status in ACTIVE:
            waiting = "resident" if last is not None and last.direction == "out" else "team"
        preview = last.text if last is not None else next((t for d, t in reversed(case.history or []) if d == "in"), "")
        return CaseSummary(
            id=case.id, state=case.status, waiting=waiting, village=case.village,
            village_label=village.label if village else (case.village or ""), team=case.team,
            team_name=team.name if team else case.team, escalated_team=case.escalated_team, language=case.language,
            channel=case.channel, reason=case.reason, opened_at=_iso(case.opened_at) or "",
            claimed_by=case.assignee_name if case.status != OPEN else None,
            last_at=_iso(last.created_at if last is not None else case.opened_at) or "",
            preview=(preview or "")[:PREVIEW], due_at=_iso(due) or "", remind_at=remind_at, escalate_at=escalate_at,
            closed_at=_iso(case.closed_at))

    # --- acting (the hand-off's own operations) ------------------------------------------

    async def _done(self, user: StaffUser, case_id: int, outcome: Outcome) -> CaseDetail:
        """The case after an operation; its refusal (in the account's language: Staff.language) as a 409."""
        if not outcome.ok:
            raise CaseRefused(409, outcome.text)
        return await self._detail(case_id, self._tr(user))

    async def claim(self, user: StaffUser, case_id: int) -> CaseDetail:
        await self._load(user, case_id)
        return await self._done(user, case_id, await self.escalation.claim(case_id, self.staff(user)))

    async def reply(self, user: StaffUser, case_id: int, text: str) -> CaseDetail:
        await self._load(user, case_id)
        return await self._done(user, case_id, await self.escalation.reply(case_id, self.staff(user), text))

    async def resolve(self, user: StaffUser, case_id: int) -> CaseDetail:
        await self._load(user, case_id)
        return await self._done(user, case_id, await self.escalation.resolve(case_id, self.staff(user)))

    async def hand_back(self, user: StaffUser, case_id: int) -> CaseDetail:
        await self._load(user, case_id)
        return await self._done(user, case_id, await self.escalation.hand_back(case_id, self.staff(user)))

    async def reassign(self, user: StaffUser, case_id: int, team: str) -> CaseDetail:
        await self._load(user, case_id)
        return await self._done(user, case_id, await self.escalation.reassign(case_id, self.staff(user), team))

    async def file(self, user: StaffUser, case_id: int, name: str) -> Path:
        tr = self._tr(user)
        await self._load(user, case_id)
        files = self.escalation.files
        path = files.path(case_id, name) if files is not None else None
        if path is None:
            raise CaseRefused(404, tr("Không có tệp này (đã xoá theo thời hạn lưu của yêu cầu, hoặc "
                                                  "chưa từng được gửi)."))
        return path

    def options(self, user: StaffUser) -> DeskOptions:
        commune = self.escalation.commune.current()
        teams = commune.teams
        return DeskOptions(
            teams=tuple({"id": t.id, "name": t.name} for t in teams.teams),
            villages=tuple({"code": v.code, "label": v.label} for v in commune.villages),
            replies=tuple({"id": r.id, "label": r.label, "text": r.text} for r in commune.replies),
            fallback=teams.fallback,
            remind_after_minutes=int(teams.remind_after.total_seconds() // 60),
            escalate_after_minutes=int(teams.escalate_after.total_seconds() // 60))
