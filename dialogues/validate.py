"""Checks every guide before it reaches a resident: transitions, menu, catalogs (vi and en), step length."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

from dialogues.answers import ANSWERS
from dialogues.flows import END, Flow, FlowError, Library, load_library
from dialogues.guide import SCAM_WARNING
from dialogues.turn import MENU_PAYLOADS

# INTENTS.md "Task intents": each starts the guide of the same name.
TASK_INTENTS = (
    "vneid_install", "vneid_register", "vneid_level2", "vneid_activation_code", "vneid_nfc_problem",
    "vneid_face_problem", "vneid_forgot_passcode", "vneid_change_device", "vneid_integrate_docs",
    "portal_login", "portal_submit", "portal_track", "residence_registration", "birth_registration",
    "judicial_record", "ihanoi_feedback",
    "epay_setup", "pay_utility_bill", "pay_public_fee", "pay_qr",
    "report_scam",
)
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
    edges = {s.id: {flow.next_step(s.id), *(c.next for c in s.choices)} for s in flow.steps}
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
    return problems


def _check_strings(library: Library, catalogs: Mapping[str, Mapping[str, str]],
                   max_chars: int) -> list[Problem]:
    problems: list[Problem] = []
    wanted: dict[str, str] = {tp.title: f"menu.yml, topic '{tp.id}'" for tp in library.topics}
    for flow in library.flows.values():
        wanted.update(dict.fromkeys(flow.strings(), flow.source))
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
            if step.troubleshoot:
                shown.append((f"step '{step.id}' troubleshooting",
                              tr(TROUBLESHOOT_FRAME) + "\n" + tr(step.troubleshoot)))
        shown.append(("done", "✅ " + tr(flow.done)))
        for where, text in shown:
            if len(text) > max_chars:
                problems.append(Problem(f"{flow.source}, {where} ({lang})",
                                        f"{len(text)} characters, more than the limit of {max_chars}"))
    return problems


def validate(flows_dir: Path, locales_dir: Path, languages: Iterable[str], max_chars: int) -> list[Problem]:
    try:
        library = load_library(flows_dir)
    except FlowError as exc:
        return [Problem(str(flows_dir), str(exc))]
    return check_library(library, load_catalogs(locales_dir, languages), max_chars)
