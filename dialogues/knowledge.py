"""The knowledge base: short fact answers (hotlines, fees, durations, places) as data in dialogues/knowledge/.

Each entry answers one kind of question in one to three sentences and names the brief's sources
(../shared/domain/brief.md); the NLU intent `faq_<id>` (nlu/data/faq.yml) asks for it. Loaded and
validated once, like the guides: a broken file stops start-up with a message naming file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kernel.yamlfile import load_yaml
from nlu.intents import FAQ_PREFIX

MAX_SENTENCES = 3
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SOURCE = re.compile(r"^S\d+[a-z]?$")
# A sentence ends at . ! ? and a space before a capital letter or a digit; "200.000" or
# "vneid.gov.vn" do not end one.
_BREAK = re.compile(r"(?<=[.!?…])\s+")
_KEYS = {"id", "source", "flows", "to_confirm", "kind", "answer"}
# What a fact answers, when the same question has one answer per task ("phí bao nhiêu?", "mất bao lâu?").
KINDS = ("fee", "time")


class KnowledgeError(ValueError):
    """A knowledge file is broken; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    answer: str  # Vietnamese source string, a catalog msgid
    source: tuple[str, ...] = ()  # brief source ids such as "S20"
    flows: tuple[str, ...] = ()  # guides where this is a likely mid-guide question
    to_confirm: bool = False  # the brief says verify / to confirm: the answer says so
    file: str = ""
    kind: str | None = None  # one of KINDS: asked without naming the task, it means the open guide's own

    @property
    def intent(self) -> str:
        return FAQ_PREFIX + self.id


@dataclass(frozen=True)
class Knowledge:
    entries: Mapping[str, Entry]  # id -> entry, in file order

    def get(self, intent_or_id: str) -> Entry | None:
        """The entry of an intent `faq_<id>` or of an id."""
        key = intent_or_id[len(FAQ_PREFIX):] if intent_or_id.startswith(FAQ_PREFIX) else intent_or_id
        return self.entries.get(key)

    def of_kind(self, kind: str, flow: str) -> Entry | None:
        """The guide's own fact of that kind (its fee, its duration), if the knowledge base has one."""
        return next((e for e in self.entries.values() if e.kind == kind and flow in e.flows), None)

    @property
    def intents(self) -> frozenset[str]:
        return frozenset(e.intent for e in self.entries.values())

    def strings(self) -> Iterator[str]:
        """Every resident-facing string, for the catalogs."""
        for entry in self.entries.values():
            yield entry.answer


def sentences(text: str) -> int:
    """How many sentences the answer has (see _BREAK)."""
    parts = _BREAK.split(text.strip())
    if not parts[0]:
        return 0
    starts = (p.lstrip("\"“(")[:1] for p in parts[1:])
    return 1 + sum(1 for ch in starts if ch.isupper() or ch.isdigit())


def parse_entries(doc: Any, where: str) -> list[Entry]:
    """The entries of one file's YAML list; raises KnowledgeError naming the file and entry."""
    if not isinstance(doc, list):
        raise KnowledgeError(f"{where}: expected a list of entries")
    out = []
    for n, raw in enumerate(doc, 1):
        name = raw.get("id") if isinstance(raw, dict) else None
        at = f"{where}, entry {name or n}"
        if not isinstance(raw, dict):
            raise KnowledgeError(f"{at}: an entry is a mapping with id, source, answer")
        unknown = set(raw) - _KEYS
        if unknown:
            raise KnowledgeError(f"{at}: unknown keys {sorted(unknown)}")
        if not isinstance(name, str) or not _ID.match(name):
            raise KnowledgeError(f"{at}: id must be lower_snake_case")
        answer = raw.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise KnowledgeError(f"{at}: answer is missing")
        source, flows = raw.get("source", []), raw.get("flows", [])
        if not isinstance(source, list) or not all(isinstance(s, str) and _SOURCE.match(s) for s in source):
            raise KnowledgeError(f"{at}: source must be a list of brief ids such as [S20]")
        if not isinstance(flows, list) or not all(isinstance(f, str) for f in flows):
            raise KnowledgeError(f"{at}: flows must be a list of guide ids")
        to_confirm = raw.get("to_confirm", False)
        if not isinstance(to_confirm, bool):
            raise KnowledgeError(f"{at}: to_confirm must be true or false")
        kind = raw.get("kind")
        if kind is not None and kind not in KINDS:
            raise KnowledgeError(f"{at}: kind must be one of {', '.join(KINDS)}")
        if not source and not to_confirm:
            raise KnowledgeError(f"{at}: a fact needs its source (S#), or to_confirm: true")
        count = sentences(answer)
        if count > MAX_SENTENCES:
            raise KnowledgeError(f"{at}: {count} sentences, at most {MAX_SENTENCES}")
        out.append(Entry(name, answer.strip(), tuple(source), tuple(flows), to_confirm, where, kind))
    return out


def load_knowledge(directory: Path | Iterable[Path]) -> Knowledge:
    """Every *.yml of the directory (or the given files), in name order; ids unique across files."""
    paths = sorted(directory.glob("*.yml")) if isinstance(directory, Path) else list(directory)
    entries: dict[str, Entry] = {}
    for path in paths:
        try:
            doc = load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeError(f"{path}: cannot be read: {exc}") from None
        for entry in parse_entries(doc or [], path.name):
            if entry.id in entries:
                raise KnowledgeError(f"{path.name}, entry {entry.id}: id already used in {entries[entry.id].file}")
            entries[entry.id] = entry
    return Knowledge(entries)
