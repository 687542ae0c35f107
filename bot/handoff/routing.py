"""Which team gets a case (by village, else the fallback team) and when that team is at work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    """Working days and a daily window, in the teams' time zone."""

    days: frozenset[int]  # 0 = Monday
    start: time
    end: time

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, local: datetime) -> datetime:
        """The first moment at or after `local` when the team is at work (local time)."""
        if self.is_open(local):
            return local
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.start, local.tzinfo)
            if day.weekday() in self.days and opening >= local:
                return opening
        return local  # no working day configured: treat as always reachable


ALWAYS = Hours(frozenset(range(7)), time(0, 0), time(23, 59, 59))


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    villages: tuple[str, ...]
    chat_id: int | None
    members: frozenset[int]
    hours: Hours
    contact: str


@dataclass(frozen=True)
class Teams:
    """teams.yml as typed values."""

    timezone: ZoneInfo
    fallback: str | None
    remind_after: timedelta
    escalate_after: timedelta
    teams: tuple[Team, ...]

    def get(self, team_id: str | None) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def fallback_team(self) -> Team | None:
        return self.get(self.fallback)

    def route(self, village: str | None) -> Team | None:
        """The team serving the village; the fallback team for a village without one (or without a chat)."""
        for team in self.teams:
            if village and village in team.villages and team.chat_id is not None:
                return team
        return self.fallback_team()

    def by_chat(self, chat_id: int) -> Team | None:
        return next((t for t in self.teams if t.chat_id == chat_id), None)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def answer_from(self, team: Team, now: datetime) -> datetime:
        """When the team can first answer a case opened now (now, inside working hours)."""
        return team.hours.next_open(self.local(now))


def _time(value: Any) -> time:
    hh, mm = str(value).split(":")
    return time(int(hh), int(mm))


def _hours(raw: Mapping[str, Any] | None) -> Hours:
    if not raw:
        return ALWAYS
    days = frozenset(DAYS.index(str(d).lower()[:3]) for d in raw.get("days") or DAYS)
    return Hours(days, _time(raw.get("start", "00:00")), _time(raw.get("end", "23:59")))


def parse_teams(raw: Mapping[str, Any]) -> Teams:
    """Typed teams from the commune's teams.yml data (raises ValueError naming what is wrong)."""
    teams = []
    for t in raw.get("teams") or []:
        if not t.get("id"):
            raise ValueError("teams.yml: every team needs an id")
        chat = t.get("telegram_chat_id")
        teams.append(Team(
            id=str(t["id"]), name=str(t.get("name") or t["id"]),
            villages=tuple(str(v) for v in t.get("villages") or ()),
            chat_id=int(chat) if chat is not None else None,
            members=frozenset(int(m["telegram_user_id"] if isinstance(m, dict) else m)
                              for m in t.get("members") or ()),
            hours=_hours(t.get("hours")), contact=str(t.get("contact") or "")))
    return Teams(timezone=ZoneInfo(str(raw.get("timezone") or "Asia/Ho_Chi_Minh")),
                 fallback=str(raw["fallback"]) if raw.get("fallback") else None,
                 remind_after=timedelta(minutes=float(raw.get("remind_after_minutes", 15))),
                 escalate_after=timedelta(minutes=float(raw.get("escalate_after_minutes", 45))),
                 teams=tuple(teams))
