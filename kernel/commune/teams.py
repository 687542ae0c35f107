"""The commune's tech teams (teams.yml): who serves which place, where they are, when they answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kernel.commune.check import CommuneError, clock, integer, items, known_codes, mapping, number, text, texts

FILE = "teams.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEAM_KEYS = ("id", "name", "name_en", "villages", "telegram_chat_id", "members", "hours", "contact", "contact_en",
             "phone", "place", "place_en")


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
    villages: tuple[str, ...]  # place codes: thôn or former communes (xã cũ)
    chat_id: int | None
    members: frozenset[int]
    hours: Hours  # ALWAYS when the commune has not given hours (see hours_known)
    name_en: str = ""
    contact: str = ""
    contact_en: str = ""
    phone: str = ""
    place: str = ""
    place_en: str = ""
    hours_known: bool = True

    def text(self, name: str, language: str) -> str:
        """name, contact or place in the resident's language, else as the commune wrote it."""
        own = str(getattr(self, name))
        return (str(getattr(self, f"{name}_en")) or own) if language == "en" else own


@dataclass(frozen=True)
class Teams:
    """teams.yml as typed values."""

    timezone: ZoneInfo
    fallback: str | None
    remind_after: timedelta
    escalate_after: timedelta
    teams: tuple[Team, ...]
    # thôn code -> its former commune's code (from villages.yml), so a team may serve a whole xã cũ.
    units: Mapping[str, str] = field(default_factory=dict)

    def get(self, team_id: str | None) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def fallback_team(self) -> Team | None:
        return self.get(self.fallback)

    def _codes(self, village: str | None) -> tuple[str, ...]:
        if not village:
            return ()
        unit = self.units.get(village)
        return (village, unit) if unit else (village,)

    def serving(self, village: str | None) -> Team | None:
        """The team of the thôn, else of its former commune, else the fallback team."""
        for code in self._codes(village):
            team = next((t for t in self.teams if code in t.villages), None)
            if team is not None:
                return team
        return self.fallback_team()

    def route(self, village: str | None) -> Team | None:
        """Like serving(), among teams with a chat: the fallback team for a place without one."""
        for code in self._codes(village):
            team = next((t for t in self.teams if code in t.villages and t.chat_id is not None), None)
            if team is not None:
                return team
        return self.fallback_team()

    def by_chat(self, chat_id: int) -> Team | None:
        return next((t for t in self.teams if t.chat_id == chat_id), None)

    def chat_ids(self) -> set[int]:
        return {t.chat_id for t in self.teams if t.chat_id is not None}

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def answer_from(self, team: Team, now: datetime) -> datetime:
        """When the team can first answer a case opened now (now, inside working hours)."""
        return team.hours.next_open(self.local(now))


def _hours(raw: Any, where: str) -> Hours | None:
    if not raw:
        return None
    m = mapping(raw, where, ("days", "start", "end"))
    days = []
    for i, d in enumerate(items(m.get("days"), f"{where}.days") or DAYS):
        if str(d).lower()[:3] not in DAYS:
            raise CommuneError(f"{where}.days[{i}] must be one of {', '.join(DAYS)}, not {d!r}")
        days.append(DAYS.index(str(d).lower()[:3]))
    return Hours(frozenset(days), clock(m.get("start", "00:00"), f"{where}.start"),
                 clock(m.get("end", "23:59"), f"{where}.end"))


def _team(raw: Any, where: str, codes: set[str]) -> Team:
    m = mapping(raw, where, TEAM_KEYS)
    villages = texts(m.get("villages"), f"{where}.villages")
    known_codes(villages, f"{where}.villages", codes)
    members = []
    for i, member in enumerate(items(m.get("members"), f"{where}.members")):
        key = f"{where}.members[{i}]"
        value = mapping(member, key, ("telegram_user_id", "name")).get("telegram_user_id") \
            if isinstance(member, dict) else member
        uid = integer(value, key if not isinstance(member, dict) else f"{key}.telegram_user_id",
                      "a Telegram user id (a number)")
        if uid is None:
            raise CommuneError(f"{key} needs a Telegram user id")
        members.append(uid)
    hours = _hours(m.get("hours"), f"{where}.hours")
    team_id = text(m.get("id"), f"{where}.id", required=True)
    return Team(id=team_id, name=text(m.get("name"), f"{where}.name") or team_id, villages=villages,
                chat_id=integer(m.get("telegram_chat_id"), f"{where}.telegram_chat_id",
                                "a Telegram chat id (a number like -1001234567890)"),
                members=frozenset(members), hours=hours or ALWAYS, hours_known=hours is not None,
                **{k: text(m.get(k), f"{where}.{k}")
                   for k in ("name_en", "contact", "contact_en", "phone", "place", "place_en")})


def parse_teams(raw: Any, codes: set[str], units: Mapping[str, str] | None = None) -> Teams:
    """teams.yml as typed values, place codes checked against villages.yml; raises CommuneError naming the key."""
    top = mapping(raw, FILE, ("timezone", "fallback", "remind_after_minutes", "escalate_after_minutes", "teams"))
    zone_name = text(top.get("timezone"), f"{FILE}: timezone") or "Asia/Ho_Chi_Minh"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommuneError(f"{FILE}: timezone {zone_name!r} is not a known time zone (e.g. Asia/Ho_Chi_Minh)") from None
    teams = tuple(_team(t, f"{FILE}: teams[{i}]", codes)
                  for i, t in enumerate(items(top.get("teams"), f"{FILE}: teams")))
    ids = [t.id for t in teams]
    if len(set(ids)) != len(ids):
        raise CommuneError(f"{FILE}: teams: an id is used twice ({ids})")
    fallback = text(top.get("fallback"), f"{FILE}: fallback") or None
    if fallback is not None and fallback not in ids:
        raise CommuneError(f"{FILE}: fallback {fallback!r} is not the id of a team")
    return Teams(timezone=zone, fallback=fallback,
                 remind_after=timedelta(minutes=number(top.get("remind_after_minutes"),
                                                       f"{FILE}: remind_after_minutes", 15)),
                 escalate_after=timedelta(minutes=number(top.get("escalate_after_minutes"),
                                                         f"{FILE}: escalate_after_minutes", 45)),
                 teams=teams, units=dict(units or {}))
