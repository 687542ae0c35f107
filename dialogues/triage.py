"""Safety triage: a message that reports or quotes a scam goes to the scam help before anything else.

Pure and data-driven: the patterns are in dialogues/triage.yml, matched on the message as the NLU folds
it; `situation` combines them with the NLU's reading. The engine acts on the answer (dialogues/engine.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kernel.text import fold, prepare
from kernel.yamlfile import load_yaml
from nlu.normalize import normalize

# What the triage found, and where each situation leads (the guide, and the step when not the first).
VICTIM, SCAM, NOT_YET, SUSPECTED, WRONG_TRANSFER, GENUINE = (
    "victim", "scam", "not_yet", "suspected", "wrong_transfer", "genuine")
ROUTES: Mapping[str, tuple[str, str | None]] = {
    VICTIM: ("scam_victim", None), SCAM: ("report_scam", None), NOT_YET: ("report_scam", "hang_up"),
    SUSPECTED: ("report_scam", None), WRONG_TRANSFER: ("wrong_transfer", None),
}
# The knowledge-base answer for a genuine VNeID message the NLU took for a scam.
GENUINE_ANSWER = "faq_vneid_genuine_sms"
SAFETY_INTENTS = frozenset({"report_scam", "scam_victim", "wrong_transfer"})
# The scam help's question "did you already do what they asked?" and where each answer leads.
QUESTION = ("report_scam", "acted")
ANSWER_ACTED, ANSWER_NOT_YET = "flow:scam_victim", "hang_up"

_CATEGORIES = ("genuine", "unlike_genuine", "wrong_transfer", "victim", "acted", "not_yet", "agent", "demand",
               "strong")
MAX_HINTS = 2


class TriageError(ValueError):
    """dialogues/triage.yml is broken; the message says where."""


@dataclass(frozen=True)
class Hint:
    """A fact shown in the scam help's opening when the message shows the trick it is about."""

    when: re.Pattern[str]
    say: str  # a catalog msgid (Vietnamese source)
    sources: tuple[str, ...] = ()
    also: re.Pattern[str] | None = None  # a second pattern that must match too


@dataclass(frozen=True)
class Question:
    """A question about scams that a knowledge-base answer serves (e.g. where to report one)."""

    when: re.Pattern[str]
    ask: re.Pattern[str]
    answer: str  # the answer's intent, faq_<entry id>
    over_scam: bool = False  # asked in a form that is a question even when it names a scam's moves


@dataclass(frozen=True)
class Signals:
    """Which kinds of words a message holds."""

    genuine: bool = False
    unlike_genuine: bool = False
    wrong_transfer: bool = False
    victim: bool = False
    acted: bool = False  # did what they asked: a victim when the message is about a scam
    not_yet: bool = False
    agent: bool = False
    demand: bool = False
    strong: bool = False
    link: bool = False  # a link to anything but a .gov.vn site

    @property
    def concrete(self) -> bool:
        """Someone (or a link) asks for a code, money, an install or an "update": a scam described."""
        return (self.agent or self.link) and self.demand


@dataclass(frozen=True)
class Rules:
    """The triage patterns of dialogues/triage.yml, compiled."""

    patterns: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)
    link: re.Pattern[str] | None = None
    official_link: re.Pattern[str] | None = None
    hints: tuple[Hint, ...] = ()
    questions: tuple[Question, ...] = ()

    def words(self, text: str) -> str:
        """The message as the patterns see it: the NLU's folded words, synonyms rewritten."""
        words = [w for w in normalize(text).split() if not w.startswith("~")]
        return " ".join(self.synonyms.get(w, w) for w in words)

    def signals(self, text: str) -> Signals:
        words = self.words(text)
        found = {name: bool(p.search(words)) for name, p in self.patterns.items()}
        if found.get("wrong_transfer"):
            # The resident's own mistaken transfer ("ck nhầm 2tr cho người lạ") is not somebody's demand for
            # money: the other kinds are read on the rest of the message.
            rest = self.patterns["wrong_transfer"].sub(" ", words)
            found.update({name: bool(p.search(rest)) for name, p in self.patterns.items() if name != "wrong_transfer"})
        link = False
        if self.link is not None:
            folded = fold(prepare(text)).lower()
            link = any(not (self.official_link and self.official_link.search(m.group(0)))
                       for m in self.link.finditer(folded))
        return Signals(link=link, **{k: found.get(k, False) for k in _CATEGORIES})

    def answer_for(self, text: str, situation: str | None) -> str | None:
        """The knowledge-base intent that answers a question about scams, if the message is one (a message
        about a victim or a wrong transfer never is; a described scam only for `over_scam` questions)."""
        if situation not in (None, SUSPECTED, SCAM):
            return None
        words = self.words(text)
        return next((q.answer for q in self.questions if q.when.search(words) and q.ask.search(words)
                     and (situation != SCAM or q.over_scam)), None)

    def hints_for(self, text: str) -> tuple[Hint, ...]:
        words = self.words(text)
        return tuple(h for h in self.hints
                     if h.when.search(words) and (h.also is None or h.also.search(words)))[:MAX_HINTS]


def situation(signals: Signals, intent: str, confident: bool) -> str | None:
    """What the message is, for safety: one of the situations above, or None (not a safety matter).

    `intent` is the NLU's best reading and `confident` whether it is sure of it: the patterns decide
    first, the NLU's safety intents catch what the patterns miss."""
    safety_intent = confident and intent in SAFETY_INTENTS
    if signals.genuine and not signals.unlike_genuine and not signals.link:
        return GENUINE if safety_intent else None
    if signals.genuine:  # an "approval" that asks to call a number, open a link or pay: a fake one
        return NOT_YET if signals.not_yet else SCAM
    if signals.wrong_transfer and not signals.concrete:
        return WRONG_TRANSFER
    if signals.victim:
        return VICTIM
    if signals.concrete or signals.strong:
        if not signals.concrete and confident and intent not in SAFETY_INTENTS and intent != "stuck":
            return None  # a question about scams ("where do I report one?"): its answer, not the scam help
        if signals.not_yet:
            return NOT_YET
        if signals.acted:
            return VICTIM
        return SCAM if signals.concrete else SUSPECTED
    if not safety_intent:
        return None
    if intent == "wrong_transfer":
        return WRONG_TRANSFER
    if signals.not_yet:
        return NOT_YET
    return VICTIM if intent == "scam_victim" or signals.acted else SUSPECTED


def answer_to_question(signals: Signals, intent: str) -> str | None:
    """At the scam help's question (did you already do it?): the choice a typed answer means, if any."""
    if signals.not_yet and not signals.victim:
        return ANSWER_NOT_YET
    if signals.victim or signals.acted or intent in ("affirm", "scam_victim"):
        return ANSWER_ACTED
    if signals.not_yet or intent == "deny":
        return ANSWER_NOT_YET
    return None


def _compile(raw: Any, where: str) -> re.Pattern[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise TriageError(f"{where}: expected a pattern or a non-empty list of patterns")
    try:
        return re.compile("|".join(rf"\b(?:{p.strip()})\b" for p in items))
    except re.error as exc:
        raise TriageError(f"{where}: not a valid pattern: {exc}") from None


def parse_rules(data: Any, where: str) -> Rules:
    if not isinstance(data, dict):
        raise TriageError(f"{where}: expected a mapping")
    patterns = {name: _compile(data.get(name), f"{where}, '{name}'") for name in _CATEGORIES}
    hints = []
    for n, raw in enumerate(data.get("hints") or (), 1):
        here = f"{where}, hint {n}"
        if not isinstance(raw, dict) or not str(raw.get("say") or "").strip():
            raise TriageError(f"{here}: needs 'when' and 'say'")
        hints.append(Hint(when=_compile(raw.get("when"), here), say=str(raw["say"]).strip(),
                          sources=tuple(str(s) for s in raw.get("source") or ()),
                          also=_compile(raw["also"], here) if raw.get("also") else None))
    questions = []
    for n, raw in enumerate(data.get("questions") or (), 1):
        here = f"{where}, question {n}"
        if not isinstance(raw, dict) or not str(raw.get("answer") or "").strip():
            raise TriageError(f"{here}: needs 'when', 'ask' and 'answer'")
        questions.append(Question(when=_compile(raw.get("when"), here), ask=_compile(raw.get("ask"), here),
                                  answer=str(raw["answer"]).strip(), over_scam=bool(raw.get("over_scam"))))
    try:
        link = re.compile(str(data["link"])) if data.get("link") else None
        official = re.compile(str(data["official_link"])) if data.get("official_link") else None
    except re.error as exc:
        raise TriageError(f"{where}: link pattern: {exc}") from None
    synonyms = {str(k): str(v) for k, v in (data.get("synonyms") or {}).items()}
    return Rules(patterns=patterns, synonyms=synonyms, link=link, official_link=official, hints=tuple(hints),
                 questions=tuple(questions))


def load_rules(path: Path) -> Rules:
    """Load dialogues/triage.yml; raise TriageError naming the file if it is broken."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TriageError(f"{path}: {exc}") from None
    return parse_rules(data, str(path))
