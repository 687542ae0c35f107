"""Checks of what a guide says, in each language: plain steps, facts with a source id, jargon explained.

Rules from the review of issue 15: a message is at most three sentences; a number, fee, hour or phone
number is a fact and carries the brief's source id; a glossary term is explained where it is first seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dialogues.flows import END, SOURCE_ID, Flow, FlowError, split_link
from kernel.yamlfile import load_yaml

MAX_SENTENCES = 3
# Every source id of ../shared/domain/brief.md (section 7), and GK for its unconfirmed general knowledge.
BRIEF_IDS = frozenset(
    [f"S{n}" for n in range(1, 42)]
    + ["S8b", "S20c", "S23b", "S23c", "S23d", "S26b", "S27b", "S27c", "S27d", "S28b", "S28c", "S29b", "S29c",
       "S32b", "S32c", "S32d", "S32e", "S32f", "S33b", "S33c", "S34b", "S34c", "S34d", "S35b", "S36b",
       "S37a", "S37c", "S37d", "S37e", "GK"])
GLOSSARY_FILE = Path(__file__).resolve().parent / "glossary.yml"
# A sentence ends at . ! ? or … followed by a space (so "dichvucong.gov.vn" and "200.000" are not ends).
_SENTENCE_END = re.compile(r"[.!?…]+[”\")]*\s+(?=\S)")
# Any digit outside a {placeholder} is a number, fee, duration, hour or phone number: a fact.
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_DIGIT = re.compile(r"\d")
# The "done" button named as the way to say "this is not my case" confused residents (issue 15, point 2).
DONE_AS_SKIP = re.compile(r"bấm\s+“Xong rồi”", re.IGNORECASE)


@dataclass(frozen=True)
class Term:
    id: str
    forms: Mapping[str, tuple[str, ...]]  # language -> how the term is written
    gloss: str  # Vietnamese msgid: the term with its explanation
    sources: tuple[str, ...]

    def used_in(self, text: str, language: str) -> bool:
        return any(re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", text, re.IGNORECASE)
                   for f in self.forms.get(language, ()))


def load_glossary(path: Path = GLOSSARY_FILE) -> tuple[Term, ...]:
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    terms = []
    for raw in data.get("terms") or []:
        where = f"{path}, term '{raw.get('id')}'"
        if not raw.get("id") or not raw.get("gloss") or not raw.get("vi"):
            raise FlowError(f"{where}: needs id, vi and gloss")
        sources = tuple(str(s) for s in raw.get("source") or ())
        if not sources or not all(SOURCE_ID.match(s) for s in sources):
            raise FlowError(f"{where}: needs source ids from the brief")
        forms = {lang: tuple(str(f) for f in raw.get(lang) or ()) for lang in ("vi", "en")}
        terms.append(Term(str(raw["id"]), forms, str(raw["gloss"]), sources))
    return tuple(terms)


def sentences(text: str) -> int:
    """How many sentences a message has (a list after a colon is one sentence)."""
    text = text.strip()
    return len(_SENTENCE_END.findall(text)) + 1 if text else 0


def has_fact(text: str) -> bool:
    return bool(_DIGIT.search(_PLACEHOLDER.sub("", text)))


def check_plain(flow: Flow, language: str, tr: Callable[[str], str]) -> list[tuple[str, str]]:
    """(where, problem) for messages over three sentences, facts without a source, "Xong rồi" as "skip"."""
    problems = []
    texts: list[tuple[str, str, tuple[str, ...]]] = [("title", flow.title, flow.sources)]
    if flow.intro:
        texts.append(("intro", flow.intro, flow.sources))
    for step in flow.steps:
        texts.append((f"step '{step.id}'", step.text, step.sources))
        texts += [(f"step '{step.id}' troubleshooting", fix, step.sources) for fix in step.fixes]
    texts.append(("done", flow.done, flow.sources))
    unknown = {i for _, _, ids in texts for i in ids} - BRIEF_IDS
    if unknown:
        problems.append(("source", f"ids not in the brief: {sorted(unknown)}"))
    for where, msgid, sources in texts:
        shown = tr(msgid)
        if sentences(shown) > MAX_SENTENCES:
            problems.append((where, f"{sentences(shown)} sentences, more than {MAX_SENTENCES}: {shown[:60]!r}"))
        if has_fact(shown) and not sources:
            problems.append((where, f"states a number, fee, hour or phone number without a source id: {shown[:60]!r}"))
        if language == "vi" and DONE_AS_SKIP.search(shown):
            problems.append((where, "uses “Xong rồi” to skip a step: give choice buttons instead"))
    return problems


def _edges(flow: Flow) -> dict[str, set[str]]:
    return {s.id: {flow.next_step(s.id), *(c.next for c in s.choices)} for s in flow.steps}


def entry_steps(flows: Iterable[Flow], flow: Flow) -> set[str]:
    """Where a resident can enter the guide: its first step and any step another guide leads into."""
    entries = {flow.steps[0].id}
    for other in flows:
        for s in other.steps:
            for target in [s.next, *(c.next for c in s.choices)]:
                link = split_link(target or "")
                if link and link[0] == flow.id:
                    entries.add(link[1] or flow.steps[0].id)
    return entries


def check_glossary(flow: Flow, entries: set[str], terms: Iterable[Term], language: str,
                   tr: Callable[[str], str], opening_extra: str = "") -> list[tuple[str, str]]:
    """Every term is explained (its gloss is in the text) the first time it is seen on every path."""
    terms = tuple(terms)
    problems: list[tuple[str, str]] = []

    def explained(text: str) -> set[str]:
        return {t.id for t in terms if tr(t.gloss).casefold() in text.casefold()}

    def check(where: str, text: str, known: set[str]) -> None:
        for t in terms:
            if t.used_in(text, language) and t.id not in known and tr(t.gloss).casefold() not in text.casefold():
                word = t.forms[language][0] if t.forms.get(language) else t.id
                problems.append((where, f"uses '{word}' before explaining it (write the glossary's {tr(t.gloss)!r})"))

    opening = "\n".join([tr(flow.title), tr(flow.intro) if flow.intro else "", opening_extra])
    check("start", opening, set())
    at_start = explained(opening)
    every = {t.id for t in terms}
    # known_before[s]: terms explained on every path that reaches s (a fixed point from "all known").
    known_before = {s.id: (set(at_start) if s.id in entries else set(every)) for s in flow.steps}
    edges = _edges(flow)
    changed = True
    while changed:
        changed = False
        for s in flow.steps:
            after = known_before[s.id] | explained(tr(s.text))
            for target in edges[s.id]:
                if target in known_before and not after >= known_before[target]:
                    known_before[target] &= after
                    changed = True
    for s in flow.steps:
        check(f"step '{s.id}'", tr(s.text), known_before[s.id])
        for fix in s.fixes:
            check(f"step '{s.id}' troubleshooting", tr(fix), known_before[s.id] | explained(tr(s.text)))
    finishing = [known_before[s.id] | explained(tr(s.text)) for s in flow.steps if END in edges[s.id]]
    check("done", tr(flow.done), set.intersection(*finishing) if finishing else set())
    return problems
