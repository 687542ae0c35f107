"""Checks every guide before it reaches a resident: transitions, menu, catalogs (vi and en), step length."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from dialogues import content
from dialogues.answers import ANSWER_SOURCES, ANSWERS
from dialogues.flows import (
    END,
    SOURCE_ID,
    Flow,
    FlowError,
    Library,
    load_library,
    split_link,
)
from dialogues.guide import SCAM_WARNING
from dialogues.knowledge import Knowledge, KnowledgeError, load_knowledge
from dialogues.turn import MENU_PAYLOADS
from nlu.dataset import DataError
from nlu.dataset import load as load_training_data
from nlu.intents import FAQ_PREFIX, TASKS, VARIANT_TASKS

# INTENTS.md "Task intents" and the agreed variants (notes/names.md): each starts the guide of the same name.
TASK_INTENTS = TASKS + VARIANT_TASKS
# The frame a step is shown in (see guide.py): its progress label and the troubleshooting heading.
STEP_FRAME, TROUBLESHOOT_FRAME = "Bước {n}/{total}", "Cách khắc phục:"


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def load_catalogs(locales_dir: Path, languages: Iterable[str]) -> dict[str, dict[str, str]]:
    """language -> {msgid: translation} from the .po sources (fuzzy or empty entries left out)."""
    out: dict[str, dict[str, str]] = {}
    for lang in languages:
        path = locales_dir / lang / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            out[lang] = {}
            continue
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        out[lang] = {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}
    return out


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_transitions(flow: Flow) -> list[Problem]:
    """Every step can be reached from the first, and the end can be reached from every step."""
    problems = []
    # "Xong rồi" (or typing "xong") follows the step's next; a choice button follows the choice.
    edges = {s.id: {END if split_link(t) else t for t in (flow.next_step(s.id), *(c.next for c in s.choices))}
             for s in flow.steps}
    seen, todo = set(), [flow.steps[0].id]
    while todo:
        sid = todo.pop()
        if sid in seen or sid == END:
            continue
        seen.add(sid)
        todo += edges[sid]
    for s in flow.steps:
        if s.id not in seen:
            problems.append(Problem(f"{flow.source}, step '{s.id}'", "cannot be reached from the first step"))
    finishing = {END}
    changed = True
    while changed:
        changed = False
        for sid, targets in edges.items():
            if sid not in finishing and targets & finishing:
                finishing.add(sid)
                changed = True
    for s in flow.steps:
        if s.id not in finishing:
            problems.append(Problem(f"{flow.source}, step '{s.id}'", "never leads to the end of the guide"))
    return problems


def check_library(library: Library, catalogs: Mapping[str, Mapping[str, str]], max_chars: int) -> list[Problem]:
    """Every problem found in the guides and the menu (an empty list means all is well)."""
    problems: list[Problem] = []
    for intent in TASK_INTENTS:
        if library.get(intent) is None:
            problems.append(Problem("dialogues/flows", f"no guide for the task intent '{intent}'"))
    listed = [f for tp in library.topics for f in tp.flows]
    for flow in library.flows.values():
        if flow.id not in TASK_INTENTS:
            problems.append(Problem(flow.source, f"flow id '{flow.id}' is not a task intent (INTENTS.md)"))
        if listed.count(flow.id) != 1:
            problems.append(Problem("menu.yml", f"guide '{flow.id}' is listed {listed.count(flow.id)} times"))
        problems += check_transitions(flow)
    for tp in library.topics:
        for answer in tp.answers:
            if answer not in ANSWERS and answer not in MENU_PAYLOADS:
                problems.append(Problem("menu.yml", f"topic '{tp.id}' offers unknown answer '{answer}'"))
    problems += _check_strings(library, catalogs, max_chars)
    problems += check_content(library, catalogs)
    return problems


def check_content(library: Library, catalogs: Mapping[str, Mapping[str, str]],
                  glossary: tuple[content.Term, ...] | None = None) -> list[Problem]:
    """In each language: at most three sentences a message, facts with a source id, jargon explained."""
    problems: list[Problem] = []
    terms = content.load_glossary() if glossary is None else glossary
    for flow in library.flows.values():
        if not flow.sources:
            problems.append(Problem(flow.source, "no `source:` (the brief's ids behind the guide)"))
        entries = content.entry_steps(library.flows.values(), flow)
        for lang, catalog in catalogs.items():
            def tr(text: str, catalog: Mapping[str, str] = catalog) -> str:
                return catalog.get(text, text)
            warning = tr(SCAM_WARNING) if flow.scam_warning else ""
            found = (content.check_plain(flow, lang, tr)
                     + content.check_glossary(flow, entries, terms, lang, tr, warning))
            problems += [Problem(f"{flow.source}, {where} ({lang})", message) for where, message in found]
    for lang, catalog in catalogs.items():
        for t in terms:
            if t.gloss not in catalog:
                problems.append(Problem("dialogues/glossary.yml", f"'{t.id}' not translated in the '{lang}' catalog"))
    for q in library.triage.questions:
        if library.knowledge.entries and library.knowledge.get(q.answer) is None:
            problems.append(Problem("dialogues/triage.yml",
                                    f"a question's answer '{q.answer}' is not in the knowledge base"))
    for n, hint in enumerate(library.triage.hints, 1):
        if not hint.sources or not all(SOURCE_ID.match(i) and i in content.BRIEF_IDS for i in hint.sources):
            problems.append(Problem("dialogues/triage.yml", f"hint {n} needs the brief's source ids: "
                                                            f"{hint.say[:60]!r}"))
    problems += check_answer_sources()
    return problems


DIALOGUES_DIR = Path(__file__).resolve().parent


def check_answer_sources(root: Path = DIALOGUES_DIR) -> list[Problem]:
    """A message in the Python answers that states a number has its brief source ids in ANSWER_SOURCES."""
    problems = []
    for path in sorted(root.glob("*.py")):
        for _, msg, _, _ in extract_from_file("python", str(path), keywords={"_": None, "N_": None, "button": (1,)}):
            for text in (msg if isinstance(msg, tuple) else (msg,)):
                if not text or not content.has_fact(text):
                    continue
                ids = ANSWER_SOURCES.get(text, ())
                if not ids or not all(SOURCE_ID.match(i) and i in content.BRIEF_IDS for i in ids):
                    problems.append(Problem(path.name, f"states a number without a source id in ANSWER_SOURCES: "
                                                       f"{text[:60]!r}"))
    return problems


def _check_strings(library: Library, catalogs: Mapping[str, Mapping[str, str]],
                   max_chars: int) -> list[Problem]:
    problems: list[Problem] = []
    wanted: dict[str, str] = {tp.title: f"menu.yml, topic '{tp.id}'" for tp in library.topics}
    for flow in library.flows.values():
        wanted.update(dict.fromkeys(flow.strings(), flow.source))
    wanted.update(dict.fromkeys((h.say for h in library.triage.hints), "dialogues/triage.yml"))
    for lang, catalog in catalogs.items():
        for text, where in wanted.items():
            if text not in catalog:
                problems.append(Problem(where, f"not translated in the '{lang}' catalog: {text[:60]!r}"))
        for msgid, msgstr in catalog.items():
            if _fields(msgid) != _fields(msgstr):
                problems.append(Problem(f"locales/{lang}", f"placeholders differ in the translation of {msgid[:60]!r}"))
        problems += _check_lengths(library, lang, catalog, max_chars)
    return problems


def _check_lengths(library: Library, lang: str, catalog: Mapping[str, str], max_chars: int) -> list[Problem]:
    """What the resident sees for each step, start and troubleshooting fits one phone screen."""
    problems = []

    def tr(text: str) -> str:
        return catalog.get(text, text)

    for flow in library.flows.values():
        total = len(flow.steps)
        opening = tr(flow.title) + ("\n" + tr(flow.intro) if flow.intro else "") + (
            "\n" + tr(SCAM_WARNING) if flow.scam_warning else "")
        shown = [("start", opening)]
        for n, step in enumerate(flow.steps, 1):
            shown.append((f"step '{step.id}'", tr(STEP_FRAME).format(n=n, total=total) + ": " + tr(step.text)))
            shown += [(f"step '{step.id}' troubleshooting", tr(TROUBLESHOOT_FRAME) + "\n" + tr(fix))
                      for fix in step.fixes]
        shown.append(("done", "✅ " + tr(flow.done)))
        for where, text in shown:
            if len(text) > max_chars:
                problems.append(Problem(f"{flow.source}, {where} ({lang})",
                                        f"{len(text)} characters, more than the limit of {max_chars}"))
    return problems


def check_knowledge(knowledge: Knowledge, library: Library, faq_intents: set[str],
                    catalogs: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    """Each entry has its faq_ intent in the NLU data and vice versa, real guides, and every translation."""
    problems = []
    for entry in knowledge.entries.values():
        where = f"dialogues/knowledge/{entry.file}, entry {entry.id}"
        if entry.intent not in faq_intents:
            problems.append(Problem(where, f"no NLU examples for the intent '{entry.intent}' (nlu/data/faq.yml)"))
        for flow in entry.flows:
            if library.get(flow) is None:
                problems.append(Problem(where, f"names the unknown guide '{flow}'"))
        for lang, catalog in catalogs.items():
            if entry.answer not in catalog:
                problems.append(Problem(where, f"not translated in the '{lang}' catalog: {entry.answer[:60]!r}"))
    for intent in sorted(faq_intents - knowledge.intents):
        entry_id = intent[len(FAQ_PREFIX):]
        problems.append(Problem("nlu/data", f"intent '{intent}' has no knowledge-base entry '{entry_id}'"))
    return problems


def validate(flows_dir: Path, locales_dir: Path, languages: Iterable[str], max_chars: int,
             knowledge_dir: Path | None = None, nlu_data_dir: Path | None = None) -> list[Problem]:
    """Every problem of the guides and, given its directory and the NLU data, of the knowledge base."""
    try:
        library = load_library(flows_dir)
    except FlowError as exc:
        return [Problem(str(flows_dir), str(exc))]
    catalogs = load_catalogs(locales_dir, languages)
    problems = check_library(library, catalogs, max_chars)
    if knowledge_dir is None:
        return problems
    try:
        knowledge = load_knowledge(knowledge_dir)
        faq = {e.intent for e in load_training_data(nlu_data_dir).examples if e.intent.startswith(FAQ_PREFIX)} \
            if nlu_data_dir else set(knowledge.intents)
    except (KnowledgeError, DataError) as exc:
        return problems + [Problem(str(knowledge_dir), str(exc))]
    return problems + check_knowledge(knowledge, library, faq, catalogs)
