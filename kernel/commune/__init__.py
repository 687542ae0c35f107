"""The commune's own data (places, teams, schedule, classes, staff, the desk's quick replies): YAML files
the commune edits, parsed into frozen types, checked, and reloaded on change one file at a time."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from kernel.commune.check import CommuneError
from kernel.commune.places import Places, Village, parse_places, place_name
from kernel.commune.replies import QuickReply, parse_replies
from kernel.commune.sessions import Session, parse_sessions
from kernel.commune.staff import NOBODY, Roles, StaffMember, parse_staff
from kernel.commune.teams import ALWAYS, DAYS, Hours, Team, Teams, parse_teams
from kernel.text import fold_words
from kernel.yamlfile import load_yaml

log = logging.getLogger(__name__)

NO_TEAMS = Teams(ZoneInfo("Asia/Ho_Chi_Minh"), None, timedelta(minutes=15), timedelta(minutes=45), ())


@dataclass(frozen=True)
class Commune:
    """A snapshot of the commune's data files."""

    code: str
    name: str
    villages: tuple[Village, ...]  # former communes (xã cũ), each followed by its thôn
    teams: Teams = NO_TEAMS
    schedule: tuple[Session, ...] = ()
    classes: tuple[Session, ...] = ()
    staff: Roles = NOBODY
    city: str = ""
    replies: tuple[QuickReply, ...] = ()  # the team desk's quick replies
    units: tuple[Village, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(v for v in self.villages if v.former_unit))

    def village(self, code: str | None) -> Village | None:
        return next((v for v in self.villages if v.code == code), None)

    def villages_of(self, unit: str) -> tuple[Village, ...]:
        """The thôn of a former commune (empty until the commune lists them)."""
        return tuple(v for v in self.villages if v.unit == unit)

    def codes(self, code: str | None) -> tuple[str, ...]:
        """A place's code and its former commune's (what teams and visits may be listed under)."""
        v = self.village(code)
        return v.codes if v else ((code,) if code else ())

    def find_village(self, text: str) -> Village | None:
        """The place whose name or alias the text is or contains (diacritics ignored; the longest wins)."""
        t = f" {fold_words(text)} "
        best: tuple[int, Village] | None = None
        for v in self.villages:
            for name in (v.name, *v.aliases, v.code.replace("-", " ")):
                n = fold_words(name)
                if n and f" {n} " in t and (best is None or len(n) > best[0]):
                    best = (len(n), v)
        return best[1] if best else None


def _read(path: Path, required: bool = False) -> Any:
    if not path.exists():
        if required:
            raise CommuneError(f"{path.name}: file not found in {path.parent}")
        return None
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CommuneError(f"{path.name} is not valid YAML: {exc}") from None


# Each file after villages.yml, parsed against the places: (file name, parser(raw, places)).
Parser = Callable[[Any, Places], Any]
FILES: dict[str, Parser] = {
    "teams.yml": lambda raw, p: parse_teams(raw, {v.code for v in p.villages},
                                            {v.code: v.unit for v in p.villages if v.unit}),
    "schedule.yml": lambda raw, p: parse_sessions(raw, "schedule.yml", "visits", {v.code for v in p.villages}),
    "classes.yml": lambda raw, p: parse_sessions(raw, "classes.yml", "classes", {v.code for v in p.villages}),
    "staff.yml": lambda raw, p: parse_staff(raw, {v.code for v in p.villages}),
    "replies.yml": lambda raw, p: parse_replies(raw),
}


def _assemble(places: Places, parts: dict[str, Any]) -> Commune:
    return Commune(code=places.code, name=places.name, city=places.city, villages=places.villages,
                   teams=parts["teams.yml"], schedule=parts["schedule.yml"], classes=parts["classes.yml"],
                   staff=parts["staff.yml"], replies=parts["replies.yml"])


def load_places(directory: Path) -> Places:
    return parse_places(_read(directory / "villages.yml", required=True), directory.name)


def load_commune(directory: Path) -> Commune:
    """Every file, checked; raises CommuneError naming the file and the key."""
    places = load_places(directory)
    return _assemble(places, {name: parse(_read(directory / name), places) for name, parse in FILES.items()})


class CommuneSource:
    """Serves the latest Commune snapshot, reloading a file when it changes.

    A bad edit of one file is refused with a log line naming the file and the key, and that file's
    last good version is kept: a half-edited file never takes the assistant (or another file) down.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Looked at on every `current()` (a turn asks several times): the paths joined once, os.stat on strings.
        self._paths = [(name, str(directory / name)) for name in ("villages.yml", *FILES)]
        self._stamps = self._mtimes()
        self._places = load_places(directory)
        self._parts = {name: parse(_read(directory / name), self._places) for name, parse in FILES.items()}
        self._commune = _assemble(self._places, self._parts)

    def _mtimes(self) -> dict[str, tuple[int, int] | None]:
        # Size too: an edit within the file system's timestamp granularity still shows.
        out: dict[str, tuple[int, int] | None] = {}
        for name, path in self._paths:
            try:
                st = os.stat(path)
                out[name] = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                out[name] = None
        return out

    def _refuse(self, name: str, exc: Exception) -> None:
        log.error("commune file %s not reloaded, keeping its last good version: %s", self.directory / name, exc)

    def current(self) -> Commune:
        stamps = self._mtimes()
        changed = {name for name, stamp in stamps.items() if stamp != self._stamps.get(name)}
        if not changed:
            return self._commune
        self._stamps = stamps
        if "villages.yml" in changed:
            try:
                self._places = load_places(self.directory)
                changed |= set(FILES)  # the other files are checked against the new place codes
            except CommuneError as exc:
                self._refuse("villages.yml", exc)
        for name in changed & set(FILES):
            try:
                self._parts[name] = FILES[name](_read(self.directory / name), self._places)
            except CommuneError as exc:
                self._refuse(name, exc)
        self._commune = _assemble(self._places, self._parts)
        log.info("reloaded commune data from %s (%s)", self.directory, ", ".join(sorted(changed)))
        return self._commune


__all__ = ["ALWAYS", "DAYS", "Commune", "CommuneError", "CommuneSource", "Hours", "QuickReply", "Roles", "Session",
           "StaffMember", "Team", "Teams", "Village", "load_commune",
           "place_name"]
