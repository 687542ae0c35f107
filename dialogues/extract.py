"""Babel extractors for the flow and knowledge-base YAML files, so their texts go through the catalogs too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from dialogues.flows import parse_flow
from dialogues.knowledge import parse_entries
from dialogues.triage import parse_rules
from kernel.yamlfile import load_yaml


def extract_flows(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                  options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield every resident-facing string of a flow file (or of menu.yml)."""
    data = load_yaml(fileobj.read().decode("utf-8")) or {}
    name = getattr(fileobj, "name", "flow")
    if "topics" in data:
        for topic in data["topics"]:
            yield 0, None, str(topic["title"]), [f"menu topic {topic['id']}"]
        return
    flow = parse_flow(data, str(name))
    for text in flow.strings():
        yield 0, None, text, [f"flow {flow.id}"]


def extract_triage(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                   options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield the facts the safety triage adds to the scam help's opening (dialogues/triage.yml)."""
    rules = parse_rules(load_yaml(fileobj.read().decode("utf-8")) or {}, str(getattr(fileobj, "name", "triage")))
    for hint in rules.hints:
        yield 0, None, hint.say, ["triage hint"]


def extract_glossary(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                     options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield each glossary gloss (dialogues/glossary.yml), which guide texts quote word for word."""
    data = load_yaml(fileobj.read().decode("utf-8")) or {}
    for term in data.get("terms") or []:
        yield 0, None, str(term["gloss"]), [f"glossary {term['id']}"]

def extract_knowledge(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                      options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield the answer of every knowledge-base entry of a file."""
    data = load_yaml(fileobj.read().decode("utf-8")) or []
    for entry in parse_entries(data, str(getattr(fileobj, "name", "knowledge"))):
        yield 0, None, entry.answer, [f"knowledge {entry.id}"]
