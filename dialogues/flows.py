"""Flow definitions: YAML files loaded and validated once into typed, immutable objects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dialogues.knowledge import Knowledge, KnowledgeError, load_knowledge
from dialogues.triage import Rules, TriageError, load_rules
from kernel.text import fold_words
from kernel.yamlfile import load_yaml

if TYPE_CHECKING:
    from dialogues.content import Term

END = "end"
# A choice may lead into another guide: "flow:<id>" (its first step) or "flow:<id>/<step>".
FLOW_LINK = "flow:"
# Brief source ids ([S12], [S23b]) or GK (the brief's unconfirmed general knowledge: say so in the text).
SOURCE_ID = re.compile(r"^(S\d+[a-z]?|GK)$")


class FlowError(ValueError):
    """A flow file is broken; the message names the file and the step."""


@dataclass(frozen=True)
class Choice:
    """A button at a step that leads to another step (or to the end)."""

    label: str
    next: str


@dataclass(frozen=True)
class Step:
    id: str
    text: str
    troubleshoot: str | None = None
    choices: tuple[Choice, ...] = ()
    next: str | None = None  # default: the following step; "end" finishes the guide
    # The brief's source ids for the facts in text and troubleshoot (YAML `source: [S2, S4]`).
    sources: tuple[str, ...] = ()
    # Further fixes, shown one by one on "Vẫn không được" after `troubleshoot` (YAML `troubleshoot_more`).
    more_fixes: tuple[str, ...] = ()

    @property
    def fixes(self) -> tuple[str, ...]:
        """The troubleshooting ladder of the step: its first fix, then the others."""
        return ((self.troubleshoot,) if self.troubleshoot else ()) + self.more_fixes


@dataclass(frozen=True)
class Flow:
    id: str
    topic: str
    title: str
    steps: tuple[Step, ...]
    done: str
    intro: str | None = None
    # Shown at the start of any guide a resident could confuse with a scam.
    scam_warning: bool = False
    source: str = ""  # the file it was loaded from
    # The brief's source ids for the facts in title, intro and done (YAML `source:` at the top).
    sources: tuple[str, ...] = ()
    # Where a typed request naming its situation starts (YAML `entries: [{words: [...], step: id}]`):
    # "tài khoản bị khoá" opens the forgot-passcode guide at its locked-account step.
    entries: tuple[tuple[tuple[str, ...], str], ...] = ()
    # Openings that fit how the guide was reached (YAML `intros: {situation: text}`), in place of `intro`:
    # e.g. the scam help opened by a described scam says plainly that it is one (dialogues/triage.py).
    intros: tuple[tuple[str, str], ...] = ()

    def intro_for(self, situation: str | None) -> str | None:
        """The opening for a situation, else the guide's own intro."""
        return dict(self.intros).get(situation or "", self.intro)

    def entry(self, text: str) -> str | None:
        """The step a request in these words starts at (its folded words contain an entry's), else None."""
        words = " " + " ".join(re.sub(r"[^a-z0-9]+", " ", fold_words(text)).split()) + " "
        return next((step for phrases, step in self.entries if any(f" {p} " in words for p in phrases)), None)

    def index(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)

    def step(self, step_id: str) -> Step:
        return self.steps[self.index(step_id)]

    def next_step(self, step_id: str) -> str:
        """Where "done" at this step leads: its `next`, the following step, or the end."""
        step = self.step(step_id)
        if step.next:
            return step.next
        i = self.index(step_id)
        return self.steps[i + 1].id if i + 1 < len(self.steps) else END

    def strings(self) -> Iterator[str]:
        """Every resident-facing string of the flow (for the catalogs and validation)."""
        yield self.title
        if self.intro:
            yield self.intro
        for _, text in self.intros:
            yield text
        for step in self.steps:
            yield step.text
            yield from step.fixes
            for choice in step.choices:
                yield choice.label
        yield self.done


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    flows: tuple[str, ...]
    answers: tuple[str, ...] = ()  # other intents offered under the topic (checked by `python -m dialogues validate`)


@dataclass(frozen=True)
class Library:
    """Every flow and the menu's topics, loaded once at start-up."""

    flows: Mapping[str, Flow]
    topics: tuple[Topic, ...]
    # The short fact answers (dialogues/knowledge/), served beside the guides.
    knowledge: Knowledge = field(default_factory=lambda: Knowledge({}))
    # The safety triage's patterns (dialogues/triage.yml), checked before anything else a resident types.
    triage: Rules = field(default_factory=Rules)
    # The glossary (dialogues/glossary.yml): "OTP là gì?" is answered with its explanation.
    glossary: tuple[Term, ...] = ()

    def get(self, flow_id: str) -> Flow | None:
        return self.flows.get(flow_id)


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise FlowError(f"{where}: missing '{key}'")
    return data[key]


def split_link(target: str) -> tuple[str, str | None] | None:
    """("vneid_register", "activate") for "flow:vneid_register/activate"; None for a step of the same guide."""
    if not target.startswith(FLOW_LINK):
        return None
    flow_id, _, step_id = target[len(FLOW_LINK):].partition("/")
    return flow_id, step_id or None


def _sources(raw: Any, where: str) -> tuple[str, ...]:
    """The `source` field: a list of brief ids (a single id is accepted as a one-item list)."""
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise FlowError(f"{where}: 'source' must be a list of brief ids such as [S2, S4]")
    ids = tuple(str(i).strip() for i in items)
    bad = [i for i in ids if not SOURCE_ID.match(i)]
    if bad:
        raise FlowError(f"{where}: unknown source id(s) {bad}: use the brief's ids (S12, S23b) or GK")
    return ids


def _more_fixes(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    more = raw.get("troubleshoot_more") or []
    if not isinstance(more, list) or not all(isinstance(m, str) and m.strip() for m in more):
        raise FlowError(f"{where}: 'troubleshoot_more' must be a list of texts")
    if more and not raw.get("troubleshoot"):
        raise FlowError(f"{where}: 'troubleshoot_more' needs a first fix in 'troubleshoot'")
    return tuple(m.strip() for m in more)


def _entries(raw: Any, where: str, steps: set[str]) -> tuple[tuple[tuple[str, ...], str], ...]:
    out = []
    for item in raw or []:
        words, step = (item.get("words"), item.get("step")) if isinstance(item, dict) else (None, None)
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise FlowError(f"{where}: each of 'entries' needs 'words', a list of phrases")
        if step not in steps:
            raise FlowError(f"{where}: 'entries' leads to unknown step {step!r}")
        out.append((tuple(fold_words(w) for w in words), str(step)))
    return tuple(out)


def parse_flow(data: Any, source: str) -> Flow:
    if not isinstance(data, dict):
        raise FlowError(f"{source}: a flow file must hold a mapping")
    flow_id = str(_require(data, "flow", source))
    where = f"{source} (flow {flow_id})"
    raw_steps = _require(data, "steps", where)
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FlowError(f"{where}: 'steps' must be a non-empty list")
    steps = []
    for n, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise FlowError(f"{where}, step {n}: must be a mapping")
        sid = str(_require(raw, "id", f"{where}, step {n}"))
        here = f"{where}, step '{sid}'"
        choices = tuple(
            Choice(label=str(_require(c, "label", here)), next=str(_require(c, "next", here)))
            for c in raw.get("choices") or ())
        steps.append(Step(id=sid, text=str(_require(raw, "text", here)).strip(),
                          troubleshoot=(str(raw["troubleshoot"]).strip() if raw.get("troubleshoot") else None),
                          choices=choices, next=(str(raw["next"]) if raw.get("next") else None),
                          sources=_sources(raw.get("source"), here), more_fixes=_more_fixes(raw, here)))
    ids = [s.id for s in steps]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise FlowError(f"{where}: duplicate step ids {sorted(dup)}")
    if END in ids:
        raise FlowError(f"{where}: '{END}' is reserved and cannot be a step id")
    known = set(ids) | {END}
    for s in steps:
        for target in [s.next, *(c.next for c in s.choices)]:
            if target is not None and target not in known and split_link(target) is None:
                raise FlowError(f"{where}, step '{s.id}': leads to unknown step '{target}'")
    entries = _entries(data.get("entries"), where, set(ids))
    return Flow(id=flow_id, topic=str(_require(data, "topic", where)), title=str(_require(data, "title", where)),
                steps=tuple(steps), done=str(_require(data, "done", where)).strip(),
                intro=(str(data["intro"]).strip() if data.get("intro") else None),
                scam_warning=bool(data.get("scam_warning", False)), source=source,
                sources=_sources(data.get("source"), where), intros=_intros(data.get("intros"), where),
                entries=entries)


def _intros(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
        raise FlowError(f"{where}: 'intros' must map a situation to a text")
    return tuple((str(k), v.strip()) for k, v in raw.items())


def load_library(flows_dir: Path, knowledge_dir: Path | None = None) -> Library:
    """Load every *.yml flow under flows_dir, the menu (menu.yml) and the knowledge base (by default the
    `knowledge` directory beside flows_dir, when there is one); raise FlowError if anything is broken."""
    flows: dict[str, Flow] = {}
    for path in sorted(flows_dir.glob("*.yml")):
        if path.name == "menu.yml":
            continue
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise FlowError(f"{path}: not valid YAML: {exc}") from exc
        flow = parse_flow(data, str(path))
        if flow.id in flows:
            raise FlowError(f"{path}: flow '{flow.id}' is already defined in {flows[flow.id].source}")
        flows[flow.id] = flow
    for flow in flows.values():
        for step in flow.steps:
            for target in [step.next, *(c.next for c in step.choices)]:
                link = split_link(target or "")
                if link is None:
                    continue
                other = flows.get(link[0])
                if other is None or (link[1] is not None and link[1] not in {s.id for s in other.steps}):
                    raise FlowError(f"{flow.source}, step '{step.id}': leads to unknown guide step '{target}'")
    menu_path = flows_dir / "menu.yml"
    topics: list[Topic] = []
    if menu_path.exists():
        menu = load_yaml(menu_path.read_text(encoding="utf-8")) or {}
        for raw in menu.get("topics", []):
            topic = Topic(id=str(raw["id"]), title=str(raw["title"]), flows=tuple(raw.get("flows") or ()),
                          answers=tuple(str(a) for a in raw.get("answers") or ()))
            for fid in topic.flows:
                if fid not in flows:
                    raise FlowError(f"{menu_path}: topic '{topic.id}' lists unknown flow '{fid}'")
            topics.append(topic)
    knowledge_dir = knowledge_dir or flows_dir.parent / "knowledge"
    try:
        knowledge = load_knowledge(knowledge_dir) if knowledge_dir.is_dir() else Knowledge({})
    except KnowledgeError as exc:  # stops start-up like a broken guide, naming the file and entry
        raise FlowError(str(exc)) from None
    triage_path = flows_dir.parent / "triage.yml"
    try:
        triage = load_rules(triage_path) if triage_path.exists() else Rules()
    except TriageError as exc:  # stops start-up like a broken guide
        raise FlowError(str(exc)) from None
    from dialogues.content import GLOSSARY_FILE, load_glossary  # content builds on this module

    glossary = load_glossary() if GLOSSARY_FILE.exists() else ()
    return Library(flows=flows, topics=tuple(topics), knowledge=knowledge, triage=triage, glossary=glossary)
