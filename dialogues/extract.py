"""Babel extractor for the flow YAML files, so guide texts go through the catalogs too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

from dialogues.flows import parse_flow


def extract_flows(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                  options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield every resident-facing string of a flow file (or of menu.yml)."""
    data = yaml.safe_load(fileobj.read().decode("utf-8")) or {}
    name = getattr(fileobj, "name", "flow")
    if "topics" in data:
        for topic in data["topics"]:
            yield 0, None, str(topic["title"]), [f"menu topic {topic['id']}"]
        return
    flow = parse_flow(data, str(name))
    for text in flow.strings():
        yield 0, None, text, [f"flow {flow.id}"]
