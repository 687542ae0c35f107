"""Shape of the held-out evaluation set and the garbage inputs (no model needed)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nlu.intents import INTENTS

EVAL = Path(__file__).resolve().parents[2] / "nlu" / "eval"
STYLES = {"diacritics", "no_diacritics", "typo", "teencode", "english", "long"}


def rows() -> list[dict[str, str]]:
    lines = (EVAL / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_every_intent_has_two_messages_of_every_style() -> None:
    data = rows()
    assert all(set(r) == {"text", "intent", "style"} for r in data)
    assert {r["intent"] for r in data} == set(INTENTS)
    per = Counter((r["intent"], r["style"]) for r in data)
    assert {s for _, s in per} == STYLES
    assert all(per[(i, s)] >= 2 for i in INTENTS for s in STYLES), per


def test_messages_are_distinct_and_styles_hold() -> None:
    data = rows()
    texts = [r["text"].strip().lower() for r in data]
    assert len(texts) == len(set(texts))
    for r in data:
        words = len(r["text"].split())
        if r["style"] == "long":
            assert 25 <= words <= 60, r
        if r["style"] in ("no_diacritics", "english"):
            assert r["text"].isascii(), r


def test_garbage_file_is_one_input_per_line() -> None:
    raw = (EVAL / "garbage.txt").read_bytes()
    text = raw.decode("utf-8")
    lines = text.split("\n")
    assert lines[-1] == "" and all(lines[:-1])
    assert text.splitlines() == lines[:-1]  # no \r, \x0b, \x1c-\x1e, U+0085, U+2028/9 splitting a line
    assert len(lines) - 1 >= 40
