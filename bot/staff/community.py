"""The commune's data edited from the browser: the mobile service point schedule, the digital skills classes and
the village teams' contacts, validated as the assistant reads them, written atomically, each change recorded."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from babel.support import NullTranslations
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.staff.team_contacts import read_teams, updated_teams
from bot.storage.db import Base, utcnow
from bot.storage.store import Store
from kernel.commune import CommuneError, CommuneSource
from kernel.commune.sessions import KEYS, parse_sessions
from kernel.i18n import Catalogs, Translator
from kernel.yamlfile import load_yaml

# which -> (file, top-level key)
FILES = {"schedule": ("schedule.yml", "visits"), "classes": ("classes.yml", "classes")}
FIELDS = {"schedule": ("date", "start", "end", "place", "place_en", "villages"),
          "classes": ("date", "start", "end", "place", "place_en", "topic", "topic_en", "villages")}
MAX_ENTRIES = 200
MAX_TEXT = 200


class EditRefused(ValueError):
    """The edit is not saved; the message says which entry and what is wrong (the file is unchanged)."""


class CommunityEdit(Base):
    """One saved change of a commune file from the browser: which file, by whom, when, how many entries."""

    __tablename__ = "community_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file: Mapped[str] = mapped_column(String(32))
    who: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entries: Mapped[int] = mapped_column(Integer)


def _header(path: Path) -> str:
    """The file's leading comment lines (what each field means), kept above the data."""
    if not path.exists():
        return ""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def write_atomically(path: Path, body: str) -> None:
    """The file's leading comments, then `body`; readers see the old file or the new one, never half of it."""
    text = _header(path) + body
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _entry(raw: Any, n: int, fields: tuple[str, ...]) -> dict[str, Any]:
    """One entry from the browser: known fields only, text trimmed, empty fields left out."""
    where = f"entry {n + 1}"
    if not isinstance(raw, dict):
        raise EditRefused(f"{where}: expected an object with {', '.join(fields)}")
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise EditRefused(f"{where}: unknown field(s) {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name in fields:
        value = raw.get(name)
        if name == "villages":
            codes = value if isinstance(value, list) else []
            if value is not None and not isinstance(value, list):
                raise EditRefused(f"{where}.villages: expected a list of village codes")
            codes = [str(c).strip() for c in codes if str(c).strip()]
            if codes:
                out[name] = codes
            continue
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise EditRefused(f"{where}.{name}: expected text of at most {MAX_TEXT} characters")
        if value.strip():
            out[name] = value.strip()
    return out


class CommunityData:
    """Reads and saves the commune's schedule and classes (CommuneSource reloads them on the next message)."""

    def __init__(self, store: Store, source: CommuneSource, catalogs: Catalogs | None = None) -> None:
        self.store, self.source, self.catalogs = store, source, catalogs
        self._lock = asyncio.Lock()

    def read(self, which: str) -> list[dict[str, Any]]:
        """The file's entries as written (dates as YYYY-MM-DD); for "teams" each team's contacts and hours."""
        if which == "teams":
            return read_teams(self.source.directory)
        file, key = FILES[which]
        path = self.source.directory / file
        raw = load_yaml(path.read_text(encoding="utf-8")) if path.exists() else None
        entries = (raw or {}).get(key) or [] if isinstance(raw, dict) else []
        return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in e.items() if k in KEYS}
                for e in entries if isinstance(e, dict)]

    def villages(self) -> list[dict[str, str]]:
        return [{"code": v.code, "name": v.label} for v in self.source.current().villages]

    async def history(self, limit: int = 20) -> list[dict[str, object]]:
        async with self.store.session() as s:
            rows = (await s.execute(select(CommunityEdit).order_by(CommunityEdit.id.desc()).limit(limit))).scalars()
            return [{"file": r.file, "who": r.who, "at": r.at.isoformat(), "entries": r.entries} for r in rows]

    async def save(self, which: str, entries: Any, who: str, language: str | None = None) -> list[dict[str, Any]]:
        """Validate the new entries as the assistant will read them; write the file and record the change.
        EditRefused (ContactsRefused for the teams, in `language`) leaves the file as it was."""
        if which == "teams":
            return await self._save_teams(entries, who, language)
        if which not in FILES:
            raise EditRefused(f"unknown list {which!r}: schedule or classes")
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise EditRefused(f"send entries: a list of at most {MAX_ENTRIES}")
        file, key = FILES[which]
        clean = [_entry(e, n, FIELDS[which]) for n, e in enumerate(entries)]
        for e in clean:  # the file holds real dates (date: 2026-12-20), as the commune writes them by hand
            if isinstance(e.get("date"), str) and len(e["date"]) == 10:
                try:
                    e["date"] = date.fromisoformat(e["date"])
                except ValueError:
                    pass  # parse_sessions names the entry and the bad date
        body = yaml.safe_dump({key: clean}, allow_unicode=True, sort_keys=False, default_flow_style=None)
        codes = {v.code for v in self.source.current().villages}
        try:
            parse_sessions(load_yaml(body), file, key, codes)  # exactly what the assistant will read
        except CommuneError as exc:
            message = re.sub(rf"{re.escape(file)}: {key}\[(\d+)\]", lambda m: f"entry {int(m.group(1)) + 1}", str(exc))
            raise EditRefused(message) from None
        async with self._lock:
            write_atomically(self.source.directory / file, body)
            await self.record(file, who, len(clean))
        self.source.current()  # reload now (the next message would anyway)
        return self.read(which)

    async def _save_teams(self, entries: Any, who: str, language: str | None) -> list[dict[str, Any]]:
        tr = self.catalogs.get(language) if self.catalogs else Translator("vi", NullTranslations())
        async with self._lock:  # read, change and write teams.yml as one step: two editors never lose an edit
            body, changed = updated_teams(self.source.directory, entries, tr)
            if changed:
                write_atomically(self.source.directory / "teams.yml", body)
                await self.record("teams.yml", who, changed)
        self.source.current()
        return self.read("teams")

    async def record(self, file: str, who: str, entries: int) -> None:
        """One saved change in the history (who, when, which file, how many entries)."""
        async with self.store.writing() as s:
            s.add(CommunityEdit(file=file, who=who, at=utcnow(), entries=entries))
