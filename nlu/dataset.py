"""Reading the training data: Rasa's NLU YAML format, so the same files train our model and Rasa.

Supported: `intent` blocks with `examples` (entity annotations `[text](entity)`,
`[text](entity:value)` and `[text]{"entity": ..., "value": ...}`), `synonym`, `lookup` and `regex`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kernel.yamlfile import load_yaml
from nlu.types import Entity

_ANNOTATION = re.compile(r"\[(?P<text>[^\]\[]+)\](?:\((?P<paren>[^)]+)\)|(?P<json>\{[^}]*\}))")
_EXAMPLE_LINE = re.compile(r"^\s*-\s?(?P<text>.*)$")


class DataError(Exception):
    """The training data cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[Entity, ...] = ()


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)  # canonical value -> spellings
    lookups: dict[str, list[str]] = field(default_factory=dict)  # table name -> entries
    regexes: dict[str, list[str]] = field(default_factory=dict)  # name -> patterns

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    def entity_values(self) -> dict[str, dict[str, str]]:
        """For each entity seen in annotations or lookups: spelling -> canonical value."""
        values: dict[str, dict[str, str]] = {}
        canonical = {spelling: value for value, spellings in self.synonyms.items() for spelling in spellings}
        for example in self.examples:
            for e in example.entities:
                spelling = example.text[e.start:e.end]
                values.setdefault(e.entity, {})[spelling] = canonical.get(spelling, e.value)
        for table, entries in self.lookups.items():
            for entry in entries:
                values.setdefault(table, {})[entry] = canonical.get(entry, entry)
        for spellings in values.values():  # every spelling of a value the entity is known to take
            for value in set(spellings.values()):
                for synonym in self.synonyms.get(value, ()):
                    spellings.setdefault(synonym, value)
                spellings.setdefault(value, value)
        return values


def parse_example(line: str, intent: str) -> Example:
    """Strip the annotations from one example, keeping the entity spans in the plain text."""
    out: list[str] = []
    entities: list[Entity] = []
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(line):
        before = line[pos:m.start()]
        out.append(before)
        length += len(before)
        text = m.group("text")
        if m.group("json"):
            try:
                spec = json.loads(m.group("json"))
            except json.JSONDecodeError as exc:
                raise DataError(f"bad entity annotation {m.group(0)!r}: {exc}") from None
            name, value = str(spec["entity"]), str(spec.get("value", text))
        else:
            name, _, value = m.group("paren").partition(":")
            value = value or text
        entities.append(Entity(name.strip(), value, length, length + len(text)))
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(line[pos:])
    return Example("".join(out).strip(), intent, tuple(entities))


def _items(block: str) -> list[str]:
    items = []
    for raw in block.splitlines():
        m = _EXAMPLE_LINE.match(raw)
        if m and m.group("text").strip():
            items.append(m.group("text").strip())
    return items


def read_file(path: Path, data: TrainingData) -> None:
    try:
        doc = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from None
    for item in doc.get("nlu") or ():
        if "intent" in item:
            intent = str(item["intent"])
            for line in _items(str(item.get("examples", ""))):
                try:
                    data.examples.append(parse_example(line, intent))
                except DataError as exc:
                    raise DataError(f"{path}: intent {intent}: {exc}") from None
        elif "synonym" in item:
            data.synonyms.setdefault(str(item["synonym"]), []).extend(_items(str(item.get("examples", ""))))
        elif "lookup" in item:
            data.lookups.setdefault(str(item["lookup"]), []).extend(_items(str(item.get("examples", ""))))
        elif "regex" in item:
            data.regexes.setdefault(str(item["regex"]), []).extend(_items(str(item.get("examples", ""))))


def load(paths: Path | Iterable[Path]) -> TrainingData:
    """Every *.yml file of a directory (or the given files), in name order."""
    if isinstance(paths, Path):
        if not paths.is_dir():
            raise DataError(f"{paths}: no such training data directory")
        paths = sorted(paths.glob("*.yml"))
    data = TrainingData()
    for path in paths:
        read_file(path, data)
    if not data.examples:
        raise DataError("no training examples found")
    return data
