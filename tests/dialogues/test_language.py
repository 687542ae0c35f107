"""Language from the message (issue 16): the detector says "en" only for English, "vi" for Vietnamese with
or without diacritics and teencode, and nothing for short or mixed messages."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from dialogues.language import EN, VI, detect
from kernel.settings import ROOT


@pytest.mark.parametrize(("text", "expected"), [
    ("hello, I need help installing VNeID", EN),
    ("Hi, how can I pay my electricity bill online?", EN),
    ("Good morning, can you speak English?", EN),
    ("I live in Đại Cường village, when does the mobile service come", EN),  # a name is not a language
    ("tôi muốn dùng tiếng Việt", VI),
    ("cai vneid ok khong", VI),
    ("ck nham 500k sang stk la r lam sao lay lai dc", VI),
    ("bye bye nhé", VI),
    ("tong dai vneid so may", VI), ("may toi khong vao duoc", VI), ("I may need help with my phone", EN),
    ("ok", None), ("hello", None), ("1", None), ("Đại Cường", None), ("Kim Duong", None), ("thon Dai Cuong", None),
])
def test_messages(text: str, expected: str | None) -> None:
    assert detect(text) == expected


def test_the_held_out_set_english_is_english_and_nothing_else_is() -> None:
    """nlu/eval/heldout.jsonl, six styles written without reading the detector."""
    found: dict[str, list[str | None]] = {}
    for line in (ROOT / "nlu/eval/heldout.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        found.setdefault(item["style"], []).append(detect(item["text"]))
    assert found["english"].count(EN) / len(found["english"]) >= 0.9
    assert VI not in found["english"]
    for style, results in found.items():
        if style != "english":
            assert EN not in results, style
            assert results.count(VI) / len(results) >= 0.85, style


def test_no_vietnamese_training_example_is_taken_for_english() -> None:
    checked = 0
    for path in sorted((ROOT / "nlu/data").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(item.get("examples", "")).splitlines():
                text = re.sub(r"\[([^\]]*)\](\([a-z_]+\)|\{[^}]*\})", r"\1", line[2:])
                if line.startswith("- ") and not text.isascii():
                    checked += 1
                    assert detect(text) != EN, text
    assert checked > 1500
