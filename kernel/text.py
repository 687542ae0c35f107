"""Text helpers every floor shares: folding what residents type, and cutting long replies into messages."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NUMBER = re.compile(r"^\s*(?:s[oố]\s+)?(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)


def prepare(text: str) -> str:
    """The text in the one Unicode form every matcher expects (NFC: "ệ" as one character)."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    if ch.isascii():
        return ch.lower()
    if unicodedata.category(ch)[0] in "CZ":  # control, format (zero-width), separators
        return " "
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return base if len(base) == 1 else " "


def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d), one output character per input character.

    Residents type with or without diacritics; matching on the folded text finds both, and a span
    found in it is a span of the original. The input is expected in NFC (`prepare`)."""
    return "".join(_fold_char(ch) for ch in text)


def fold_words(text: str) -> str:
    """The folded words of any text (NFC first), single-spaced: the key for comparing names."""
    return " ".join(fold(prepare(text)).split())


def split_text(text: str, limit: int) -> list[str]:
    """Cut text into pieces of at most `limit` characters, none empty.

    Each cut is at the last paragraph break, else line break, else space, in the second half of
    the piece (so no piece is less than half full while text remains); failing all three, mid-word.
    """
    pieces: list[str] = []
    rest = text.strip()
    least = max(limit // 2, 1)
    while len(rest) > limit:
        window = rest[:limit]
        cut = next((c for c in (window.rfind(sep) for sep in ("\n\n", "\n", " ")) if c >= least), limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def chosen_number(text: str) -> int | None:
    """The number a resident typed to choose from a numbered list ("2", "2.", " 2) ", "số 2"), else None."""
    m = _NUMBER.match(text)
    return int(m.group(1)) if m else None
