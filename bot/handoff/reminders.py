"""Reminders, computed from the database (so they survive restarts): an unclaimed case is raised again in
its team's group, then sent to the fallback team. Times count from when the team is at work (`due_at`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.handoff.models import OPEN, Case

if TYPE_CHECKING:
    from bot.handoff.book import CaseBook


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def raise_unclaimed(esc: CaseBook, now: datetime) -> int:
    """Write the reminders and escalations due at `now` into the outbox; returns how many."""
    teams = esc.teams()
    raised = 0
    async with esc.store.writing() as s:
        stmt = (select(Case).where(Case.status == OPEN,
                                   Case.due_at <= now - min(teams.remind_after, teams.escalate_after))
                .order_by(Case.id).limit(200))
        if esc.store.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # two processes never raise a case twice
        for case in (await s.execute(stmt)).scalars():
            due = aware(case.due_at)
            if case.reminded_at is None and now >= due + teams.remind_after:
                case.reminded_at = now
                esc.to_case_teams(s, case, "reminder", esc.tr(
                    "⏰ Yêu cầu {case} đã chờ {minutes} phút mà chưa ai nhận. Ai giúp được, bấm “Nhận” nhé.",
                    case=case.id, minutes=int((now - aware(case.opened_at)).total_seconds() // 60)))
                raised += 1
            fallback = teams.fallback_team()
            if (case.escalated_at is None and now >= due + teams.escalate_after and fallback is not None
                    and fallback.id != case.team):
                case.escalated_at, case.escalated_team = now, fallback.id
                header = esc.tr("⚠️ Chuyển lên vì chưa ai nhận sau {minutes} phút.",
                                minutes=int(teams.escalate_after.total_seconds() // 60))
                if fallback.chat_id is not None:  # without a group, its members see it at the web desk
                    esc.to_team(s, case, fallback, "card", header + "\n" + esc.card(case, fallback),
                                esc.card_buttons(case))
                esc.store.track(s, case.resident_id, "handoff_escalate", case.flow, case.step,
                                {"case": case.id, "team": fallback.id})
                raised += 1
    return raised
