"""Entities with character spans: regexes for numbers, gazetteers for the rest, fuzzy villages.

Every matcher works on `fold(text)`, which has one character per character of the text, so a span
found there is the span in what the resident typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kernel.commune import Village
from nlu.normalize import fold
from nlu.types import Entity

# The safety filter replaces these before the NLU sees them; both the raw and the redacted form are found.
NUMBER_PATTERNS: dict[str, list[str]] = {
    "id_number": [r"(?<!\d)\d{12}(?!\d)", r"\[id\]"],
    "phone_number": [r"(?<![\d+])(?:\+?84|0)(?:[\s.-]?\d){9}(?!\d)", r"\[phone\]"],
    "otp_code": [r"(?<!\d)\d{6}(?!\d)", r"\[otp\]"],
}
_WORD = re.compile(r"[a-z0-9]+")


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it cannot be within limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class _Term:
    entity: str
    words: tuple[str, ...]  # folded words of the spelling
    value: str
    fuzzy: bool


class EntityExtractor:
    def __init__(self, gazetteer: dict[str, dict[str, str]], villages: Sequence[Village],
                 regexes: dict[str, list[str]] | None = None) -> None:
        patterns = {name: list(p) for name, p in NUMBER_PATTERNS.items()}
        for name, extra in (regexes or {}).items():
            patterns.setdefault(name, []).extend(extra)
        self._regexes = [(name, re.compile("|".join(f"(?:{p})" for p in ps))) for name, ps in patterns.items()]
        terms: list[_Term] = []
        for entity, spellings in gazetteer.items():
            if entity in NUMBER_PATTERNS or entity == "village":
                continue
            for spelling, value in spellings.items():
                words = tuple(_WORD.findall(fold(spelling)))
                if words:
                    terms.append(_Term(entity, words, value, fuzzy=False))
        # The commune's places: former communes (xã cũ), their thôn, and other names residents use.
        for village in villages:
            for spelling in (village.name, *village.aliases):
                words = tuple(_WORD.findall(fold(spelling)))
                if words:
                    terms.append(_Term("village", words, village.name, fuzzy=len("".join(words)) >= 5))
        # Longer spellings first, so "lý lịch tư pháp số 2" wins over "lý lịch".
        self._terms = sorted(terms, key=lambda t: -len(t.words))
        self._fuzzy = [(t, "".join(t.words), 1 if len("".join(t.words)) < 9 else 2) for t in self._terms if t.fuzzy]
        self._first: dict[str, list[_Term]] = {}
        for t in self._terms:
            self._first.setdefault(t.words[0], []).append(t)

    def extract(self, text: str) -> tuple[Entity, ...]:
        folded = fold(text)
        found: list[Entity] = []
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e in taken)

        for name, regex in self._regexes:
            for m in regex.finditer(folded):
                if free(m.start(), m.end()):
                    found.append(Entity(name, text[m.start():m.end()], m.start(), m.end()))
                    taken.append((m.start(), m.end()))
        words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(folded)]
        for i in range(len(words)):
            for term in self._candidates(words, i):
                n = len(term.words)
                start, end = words[i][1], words[i + n - 1][2]
                if free(start, end):
                    found.append(Entity(term.entity, term.value, start, end))
                    taken.append((start, end))
                break
        return tuple(sorted(found, key=lambda e: e.start))

    def _candidates(self, words: list[tuple[str, int, int]], i: int) -> Iterable[_Term]:
        exact = [t for t in self._first.get(words[i][0], ()) if self._matches(t, words, i)]
        if exact:
            yield exact[0]
            return
        windows: dict[int, str] = {}
        for term, joined, tolerance in self._fuzzy:
            n = len(term.words)
            if i + n > len(words):
                continue
            window = windows.get(n)
            if window is None:
                window = windows[n] = "".join(w for w, _, _ in words[i:i + n])
            # A typo may also join or split the words: compare without spaces.
            if abs(len(window) - len(joined)) <= tolerance and _distance(window, joined, tolerance) <= tolerance:
                yield term
                return

    @staticmethod
    def _matches(term: _Term, words: list[tuple[str, int, int]], i: int) -> bool:
        n = len(term.words)
        return i + n <= len(words) and tuple(w for w, _, _ in words[i:i + n]) == term.words
