"""Dated sessions (schedule.yml: mobile public service points; classes.yml: digital skills classes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kernel.commune.check import CommuneError, items, known_codes, mapping, text, texts

KEYS = ("date", "start", "end", "place", "place_en", "topic", "topic_en", "villages", "village")


@dataclass(frozen=True)
class Session:
    """A dated visit of the mobile public service point, or a digital skills class."""

    day: date
    start: str
    end: str
    place: dict[str, str]  # language -> text; "" holds the commune's own (Vietnamese) wording
    topic: dict[str, str] = field(default_factory=dict)
    villages: tuple[str, ...] = ()  # place codes it is meant for; empty: the whole commune

    def text(self, name: str, language: str) -> str:
        """A field in the resident's language, else as the commune wrote it."""
        values = self.place if name == "place" else self.topic
        return values.get(language) or values.get("", "")

    def serves(self, *codes: str | None) -> bool:
        """Meant for the whole commune, or for one of these codes (a thôn and its former commune)."""
        return not self.villages or any(c in self.villages for c in codes if c)


def _localized(item: Any, name: str, where: str) -> dict[str, str]:
    """`place: ...` plus optional `place_en: ...` -> {"": ..., "en": ...}."""
    out = {"": text(item.get(name), f"{where}.{name}")}
    en = text(item.get(f"{name}_en"), f"{where}.{name}_en")
    if en:
        out["en"] = en
    return {k: v for k, v in out.items() if v}


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CommuneError(f"{where}.date must be a date like 2026-12-02, not {value!r}") from None


TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _time(value: Any, where: str) -> str:
    """"HH:MM" (24 hours), or "" when left out."""
    if isinstance(value, int) and not isinstance(value, bool):  # YAML reads an unquoted 08:00 as 480 minutes
        value = f"{value // 60:02d}:{value % 60:02d}"
    found = text(value, where)
    if found and not TIME.fullmatch(found):
        raise CommuneError(f"{where} must be a time like 08:00, not {found!r}")
    return found


def parse_sessions(raw: Any, file: str, key: str, codes: set[str]) -> tuple[Session, ...]:
    """schedule.yml (`visits`) or classes.yml (`classes`), sorted by day; CommuneError names a bad entry."""
    top = mapping(raw, file, (key,))
    out = []
    for n, item in enumerate(items(top.get(key), f"{file}: {key}")):
        where = f"{file}: {key}[{n}]"
        item = mapping(item, where, KEYS)
        if not item.get("date") or not item.get("place"):
            raise CommuneError(f"{where}: needs at least 'date' and 'place'")
        villages = texts(item.get("villages"), f"{where}.villages")
        if item.get("village"):
            villages += (text(item["village"], f"{where}.village"),)
        known_codes(villages, where, codes)
        start, end = _time(item.get("start"), f"{where}.start"), _time(item.get("end"), f"{where}.end")
        if start and end and end <= start:
            raise CommuneError(f"{where}: end {end} must be after start {start}")
        out.append(Session(day=_day(item["date"], where), start=start,
                           end=end, place=_localized(item, "place", where),
                           topic=_localized(item, "topic", where), villages=villages))
    return tuple(sorted(out, key=lambda s: (s.day, s.start)))
