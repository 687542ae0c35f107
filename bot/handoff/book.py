"""The hand-off's case book: case records, routing by village, what is written for delivery (the outbox),
who may act on a case, and the reminders' tick. The team's operations (team_work.py) and the resident's
side (cases.py) build on it.

Every change and every message to deliver is written in one transaction; delivery happens after
commit from the outbox (see outbox.py), so a crash never loses a message that was accepted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.handoff.card import buttons_json, card_buttons, card_text
from bot.handoff.files import CaseFiles, Kept
from bot.handoff.models import ACTIVE, Case, CaseMessage, CaseThread, Outbox
from bot.handoff.reminders import aware, raise_unclaimed
from bot.handoff.routing import Team, Teams
from bot.handoff.watchers import desk_watches
from bot.storage.db import Resident, utcnow
from bot.storage.prepared import Prepared
from bot.storage.store import Store
from dialogues.flows import Library
from kernel.commune import CommuneSource
from kernel.i18n import Catalogs, Translator
from kernel.messages import Button, Reply

log = logging.getLogger(__name__)
_ACTIVE_ID = Prepared(select(Case.id).where(Case.resident_id == bindparam("rid"),
                                            Case.status.in_([literal(status) for status in ACTIVE])).limit(1))
PREFIX = "case"  # resident button payloads: case:fb:<id>:yes|no, case:end:<id>
CLOSE = "close"  # an outbox row that closes the case's thread at a desk (no message)


@dataclass(frozen=True)
class Staff:
    """A team member acting on a case: from Telegram (`user_id`, checked against teams.yml's members), or
    from the web desk (an account: `teams` it belongs to, `everywhere` for staff and admins)."""

    user_id: int | None
    name: str
    teams: frozenset[str] | None = None
    everywhere: bool = False
    # The language the member reads our answers in (the web desk's page); None: the commune's, as in the groups.
    language: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a staff operation did: `ok`, and a short text for the member."""

    ok: bool
    text: str


class CaseBook:
    """Case records and what is written for delivery, shared by the team's and the resident's side."""

    def __init__(self, store: Store, catalogs: Catalogs, commune: CommuneSource, library: Library,
                 clock: Callable[[], datetime] = utcnow, files: CaseFiles | None = None) -> None:
        self.store = store
        self.files = files  # photos and voice notes of cases (None: not kept)
        self.catalogs = catalogs
        self.commune = commune
        self.library = library
        self.clock = clock
        self.tr = catalogs.get(catalogs.default)  # teams work in the commune's language
        # Called after a commit that wrote outbox rows (the worker wakes up).
        self.kick: Callable[[], None] = lambda: None

    def said(self, staff: Staff) -> Translator:
        """The translator of what a member is told about their own action (Outcome texts)."""
        return self.catalogs.get(staff.language) if staff.language else self.tr

    # --- configuration ----------------------------------------------------

    def teams(self) -> Teams:
        return self.commune.current().teams

    def group_of(self, team: Team) -> Team | None:
        """Where a team's cases are posted on Telegram: its own group, else the fallback team's, else nowhere
        (the web desk still has them)."""
        if team.chat_id is not None:
            return team
        fallback = self.teams().fallback_team()
        return fallback if fallback is not None and fallback.chat_id is not None else None

    async def answered(self, s: AsyncSession, case: Case) -> bool:
        """Whether someone can see the case: a team's Telegram group, or an account at the web desk."""
        teams = self.teams()
        ids = [t for t in (case.team, case.escalated_team) if t]
        if any((team := teams.get(t)) is not None and team.chat_id is not None for t in ids):
            return True
        return await desk_watches(s, ids)

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

    def close_threads(self, s: AsyncSession, case: Case) -> None:
        """The case has ended: its forum topics are closed, after the notices written before this."""
        self.to_case_teams(s, case, CLOSE, "")

    def to_resident(self, s: AsyncSession, case: Case, resident: Resident, kind: str, reply: Reply) -> None:
        s.add(Outbox(case_id=case.id, audience="resident", team=None, channel=resident.channel,
                     chat_id=resident.platform_id, kind=kind, text=reply.text,
                     buttons=buttons_json(reply.buttons) or None, status="pending", attempts=0,
                     next_attempt_at=self.clock(), created_at=self.clock()))

    def after_commit(self, scope_after: list[Callable[[], Awaitable[None]]]) -> None:
        async def wake() -> None:
            self.kick()
        scope_after.append(wake)

    @staticmethod
    async def has_active_case(conn: AsyncConnection, resident_id: int) -> bool:
        """Whether the resident has an open or claimed case: a typed message asks it every turn, so without
        the ORM (a statement built once, on the turn's connection)."""
        return await _ACTIVE_ID.first(conn, {"rid": resident_id}) is not None

    @staticmethod
    async def active_case(s: AsyncSession, resident_id: int) -> Case | None:
        stmt = (select(Case).where(Case.resident_id == resident_id, Case.status.in_(ACTIVE))
                .order_by(Case.id.desc()).limit(1))
        return (await s.execute(stmt)).scalar_one_or_none()

    # --- what the team sees and who may act -----------------------------------

    def card(self, case: Case, team: Team) -> str:
        return card_text(self.tr, self.commune.current(), self.library, case, team)

    def card_buttons(self, case: Case) -> tuple[tuple[Button, ...], ...]:
        return card_buttons(self.tr, case)

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

    async def case_for(self, s: AsyncSession, case_id: int, staff: Staff) -> Case | Outcome:
        """The case, locked for this transaction, if the member may act on it; else why not."""
        _ = self.said(staff)
        case = await s.get(Case, case_id, with_for_update=True)
        if case is None:
            return Outcome(False, _("Không có yêu cầu {case}.", case=case_id))
        if not self.may_act(case, staff):
            log.warning("staff %s refused on case %s: not a member", staff.user_id, case_id)
            return Outcome(False, _("Chỉ thành viên của tổ mới được nhận và trả lời yêu cầu này."))
        return case

    async def open_case_for(self, s: AsyncSession, case_id: int, staff: Staff,
                            refusal: str | None = None) -> Case | Outcome:
        """As case_for, and refused also when the case is closed (`refusal`, else "Yêu cầu N đã đóng.")."""
        _ = self.said(staff)
        case = await self.case_for(s, case_id, staff)
        if isinstance(case, Outcome) or case.status in ACTIVE:
            return case
        return Outcome(False, refusal or _("Yêu cầu {case} đã đóng.", case=case.id))

    async def resident_of(self, s: AsyncSession, case: Case) -> tuple[Resident | None, Translator]:
        resident = await s.get(Resident, case.resident_id)
        return resident, self.catalogs.get(case.language)

    async def case_for_message(self, chat_id: int, topic_id: int | None, reply_to: int | None) -> int | None:
        """The case a team message belongs to: its forum topic, or the card/relayed message it replies to."""
        async with self.store.session() as s:
            if topic_id is not None:
                row = (await s.execute(select(CaseThread.case_id).where(
                    CaseThread.chat_id == chat_id, CaseThread.topic_id == topic_id))).first()
                if row is not None:
                    return int(row[0])
            if reply_to is not None:
                case = (await s.execute(select(Outbox.case_id).where(
                    Outbox.chat_id == str(chat_id), Outbox.platform_message_id == str(reply_to)))).scalar()
                if case is not None:
                    return int(case)
        return None

    async def tick(self, now: datetime | None = None) -> int:
        """Raise unclaimed cases again, then send them to the fallback team; returns how many were raised."""
        raised = await raise_unclaimed(self, now or self.clock())
        if raised:
            self.kick()
        await self.sweep_files(now or self.clock())
        return raised

    async def sweep_files(self, now: datetime) -> int:
        """Delete the files of forgotten cases and of cases ended longer ago than the retention period."""
        if self.files is None:
            return 0
        ids, held = self.files.case_ids(), self.files.held_residents()
        if not ids and not held:
            return 0
        async with self.store.session() as s:
            rows = (await s.execute(select(Case.id, Case.status, Case.closed_at).where(Case.id.in_(ids)))).all()
            residents = set((await s.execute(select(Resident.id).where(Resident.id.in_(held)))).scalars())
        live = {case_id: (aware(closed) if status not in ACTIVE and closed is not None else None)
                for case_id, status, closed in rows}
        return await asyncio.to_thread(self.files.sweep, live, now) + \
            await asyncio.to_thread(self.files.sweep_held, residents)

    def record_file(self, s: AsyncSession, case: Case, kept: Kept) -> None:
        """A resident's file as their message in the case (the desk finds it by its source_id), and a notice to
        the case's teams."""
        what = self.tr("📷 Ảnh") if kept.kind == "image" else self.tr("🎤 Ghi âm")
        s.add(CaseMessage(case_id=case.id, direction="in", author=None, text=what, source_id=f"file:{kept.name}",
                          created_at=self.clock()))
        self.to_case_teams(s, case, "message", self.tr("{what} từ người dân (yêu cầu {case}): xem ở trang web của "
                                                       "tổ, /staff/", what=what, case=case.id))


__all__ = ["CaseBook", "Staff", "Outcome", "PREFIX"]
