"""The commune's own data (villages, teams, schedules, classes), edited as YAML and reloaded on change."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)


def fold(text: str) -> str:
    """Lowercase without diacritics (đ -> d), for matching what residents type."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Mn").split())


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Session:
    """A dated visit of the mobile public service point, or a digital skills class."""

    day: date
    start: str
    end: str
    place: dict[str, str]  # language -> text; "" holds the commune's own (Vietnamese) wording
    topic: dict[str, str] = field(default_factory=dict)
    villages: tuple[str, ...] = ()  # village codes it is meant for; empty: the whole commune

    def text(self, name: str, language: str) -> str:
        """A field in the resident's language, else as the commune wrote it."""
        values = self.place if name == "place" else self.topic
        return values.get(language) or values.get("", "")

    def serves(self, village: str | None) -> bool:
        return not self.villages or village in self.villages


@dataclass(frozen=True)
class Commune:
    """A snapshot of the commune's data files."""

    code: str
    name: str
    villages: tuple[Village, ...]
    # The other files are kept as plain data; the features that use them read their keys.
    teams: dict[str, Any] = field(default_factory=dict)
    schedule: tuple[Session, ...] = ()
    classes: tuple[Session, ...] = ()
    staff: dict[str, Any] = field(default_factory=dict)

    def village(self, code: str | None) -> Village | None:
        return next((v for v in self.villages if v.code == code), None)

    def find_village(self, text: str) -> Village | None:
        """The village whose name or alias the text is or contains (diacritics ignored)."""
        t = f" {fold(text)} "
        best: tuple[int, Village] | None = None
        for v in self.villages:
            for name in (v.name, *v.aliases, v.code.replace("-", " ")):
                n = fold(name)
                if n and f" {n} " in t and (best is None or len(n) > best[0]):
                    best = (len(n), v)
        return best[1] if best else None


def _read(path: Path) -> Any:
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _localized(item: dict[str, Any], name: str) -> dict[str, str]:
    """`place: ...` plus optional `place_en: ...` -> {"": ..., "en": ...}."""
    out = {"": str(item[name])} if item.get(name) else {}
    for key, value in item.items():
        if key.startswith(name + "_") and value:
            out[key[len(name) + 1:]] = str(value)
    return out


def load_sessions(path: Path, key: str, codes: set[str]) -> tuple[Session, ...]:
    """Read schedule.yml (`visits`) or classes.yml (`classes`), sorted by day; ValueError names a bad entry."""
    raw = (_read(path) or {}).get(key) or []
    out = []
    for n, item in enumerate(raw, 1):
        where = f"{path.name}, {key} entry {n}"
        if not isinstance(item, dict) or not item.get("date") or not item.get("place"):
            raise ValueError(f"{where}: needs at least 'date' and 'place'")
        day = item["date"] if isinstance(item["date"], date) else date.fromisoformat(str(item["date"]))
        villages = item.get("villages") or ([item["village"]] if item.get("village") else [])
        unknown = [v for v in villages if v not in codes]
        if unknown:
            raise ValueError(f"{where}: unknown village codes {unknown} (see villages.yml)")
        out.append(Session(day=day, start=str(item.get("start", "")), end=str(item.get("end", "")),
                           place=_localized(item, "place"), topic=_localized(item, "topic"),
                           villages=tuple(str(v) for v in villages)))
    return tuple(sorted(out, key=lambda s: (s.day, s.start)))


def load_commune(directory: Path) -> Commune:
    data = _read(directory / "villages.yml") or {}
    info = data.get("commune") or {}
    villages = tuple(
        Village(code=str(v["code"]), name=str(v["name"]), aliases=tuple(str(a) for a in v.get("aliases") or ()))
        for v in data.get("villages") or ())
    if not villages:
        raise ValueError(f"{directory / 'villages.yml'}: no villages configured")
    return Commune(
        code=str(info.get("code", directory.name)), name=str(info.get("name", directory.name)),
        villages=villages,
        teams=_read(directory / "teams.yml") or {},
        schedule=load_sessions(directory / "schedule.yml", "visits", {v.code for v in villages}),
        classes=load_sessions(directory / "classes.yml", "classes", {v.code for v in villages}),
        staff=_read(directory / "staff.yml") or {},
    )


class CommuneSource:
    """Serves the latest Commune snapshot, reloading when a file in the directory changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp = self._mtimes()
        self._commune = load_commune(directory)

    def _mtimes(self) -> tuple[tuple[str, int, int], ...]:
        # Size too: an edit within the file system's timestamp granularity still shows.
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in self.directory.glob("*.yml")))

    def current(self) -> Commune:
        stamp = self._mtimes()
        if stamp != self._stamp:
            try:
                self._commune = load_commune(self.directory)
                log.info("reloaded commune data from %s", self.directory)
            except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                # A half-edited file must not take the assistant down: keep the last good data.
                log.error("commune data in %s not reloaded: %s", self.directory, exc)
            self._stamp = stamp
        return self._commune
