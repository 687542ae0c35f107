"""Quick replies for the team desk (replies.yml): short answers a member picks and edits before sending,
written by the commune in Vietnamese and English (the case's language is used)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.commune.check import CommuneError, items, mapping, text

FILE = "replies.yml"
LANGUAGES = ("vi", "en")
MAX_TEXT = 1000  # a quick reply is a start, not a letter; the resident reads it on a phone
MAX_LABEL = 60


@dataclass(frozen=True)
class QuickReply:
    """One quick reply: its button label and its text, each in every language."""

    id: str
    label: dict[str, str]  # language -> label
    text: dict[str, str]  # language -> text

    def in_language(self, language: str) -> str:
        return self.text.get(language) or self.text["vi"]


def _localized(m: Any, name: str, where: str, limit: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        key = name if lang == "vi" else f"{name}_{lang}"
        value = text(m.get(key), f"{where}.{key}", required=True)
        if len(value) > limit:
            raise CommuneError(f"{where}.{key} is {len(value)} characters long (at most {limit})")
        out[lang] = value
    return out


def parse_replies(raw: Any) -> tuple[QuickReply, ...]:
    """replies.yml as typed values (no file: no quick replies); raises CommuneError naming the key."""
    top = mapping(raw, FILE, ("replies",))
    out = []
    for i, r in enumerate(items(top.get("replies"), f"{FILE}: replies")):
        where = f"{FILE}: replies[{i}]"
        m = mapping(r, where, ("id", "label", "label_en", "text", "text_en"))
        reply_id = text(m.get("id"), f"{where}.id", required=True)
        out.append(QuickReply(reply_id, _localized(m, "label", where, MAX_LABEL),
                              _localized(m, "text", where, MAX_TEXT)))
    ids = [r.id for r in out]
    if len(set(ids)) != len(ids):
        raise CommuneError(f"{FILE}: replies: an id is used twice ({ids})")
    return tuple(out)
