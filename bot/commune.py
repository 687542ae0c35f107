"""The commune's own data (villages, teams, schedules, classes), edited as YAML and reloaded on change."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
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
class Commune:
    """A snapshot of the commune's data files."""

    code: str
    name: str
    villages: tuple[Village, ...]
    # The other files are kept as plain data; the features that use them read their keys.
    teams: dict[str, Any] = field(default_factory=dict)
    schedule: list[dict[str, Any]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
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
        schedule=(_read(directory / "schedule.yml") or {}).get("visits", []),
        classes=(_read(directory / "classes.yml") or {}).get("classes", []),
        staff=_read(directory / "staff.yml") or {},
    )


class CommuneSource:
    """Serves the latest Commune snapshot, reloading when a file in the directory changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp = self._mtimes()
        self._commune = load_commune(directory)

    def _mtimes(self) -> tuple[tuple[str, float], ...]:
        return tuple(sorted((p.name, p.stat().st_mtime) for p in self.directory.glob("*.yml")))

    def current(self) -> Commune:
        stamp = self._mtimes()
        if stamp != self._stamp:
            try:
                self._commune = load_commune(self.directory)
                log.info("reloaded commune data from %s", self.directory)
            except (ValueError, KeyError, yaml.YAMLError) as exc:
                # A half-edited file must not take the assistant down: keep the last good data.
                log.error("commune data in %s not reloaded: %s", self.directory, exc)
            self._stamp = stamp
        return self._commune
