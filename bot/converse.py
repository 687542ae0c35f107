"""The conversation suite (issue 16): residents' conversations as data, played over the web chat HTTP API.

A scenario file (tests/conversations/*.yml) holds a theme and a list of scenarios; each is a resident's
turns (`say` text, `press` a button by its label, or `tap` a payload) with what must hold after the turn
and at the end: the guide and step, facts that must (and must not) appear, that the resident always has
a way on (buttons or a question), and that no secret they typed is in the database. `python -m bot
converse FILE|DIR` plays them against the whole assistant and prints the share that ends well, by theme;
tests/bot/test_conversations.py plays each as a test.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.yamlfile import load_yaml

# One answer of POST /api/chat: the JSON body, as INTERFACES.md defines it.
Post = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# Every text stored for the resident (messages, dialogue state), for the secrets check.
Stored = Callable[[], Awaitable[list[str]]]
_UNSET = object()


class ScenarioError(ValueError):
    """A scenario file that does not follow the format (a clear message naming the file and scenario)."""


def squash(text: str) -> str:
    """Lowercase, no diacritics, no spaces or digit separators: "1900 0368" finds "1900.0368"."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return re.sub(r"[\s.,\-–]", "", "".join(c for c in text if unicodedata.category(c) != "Mn"))


@dataclass(frozen=True)
class Expect:
    flow: Any = _UNSET          # a flow id, None (no guide running), or a list of acceptable ids
    step: int | None = None
    intent: str | None = None
    language: str | None = None
    says: tuple[tuple[str, ...], ...] = ()      # each item: one of these must be in the replies' text
    shows: tuple[tuple[str, ...], ...] = ()     # the same, in the text or a button label ("Tiếp tục Bước 2/4")
    not_says: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()               # labels (or payloads) that must be offered
    way_on: bool = True

    @classmethod
    def parse(cls, raw: Any, where: str) -> Expect:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: 'expect' must be a mapping")
        unknown = set(raw) - {"flow", "step", "intent", "language", "says", "shows", "not_says", "buttons", "way_on"}
        if unknown:
            raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
        def options(key: str) -> tuple[tuple[str, ...], ...]:
            return tuple(tuple(map(str, i)) if isinstance(i, list) else (str(i),) for i in raw.get(key, []))

        return cls(flow=raw.get("flow", _UNSET), step=raw.get("step"), intent=raw.get("intent"),
                   language=raw.get("language"), says=options("says"), shows=options("shows"),
                   not_says=tuple(map(str, raw.get("not_says", []))),
                   buttons=tuple(map(str, raw.get("buttons", []))), way_on=bool(raw.get("way_on", True)))


@dataclass(frozen=True)
class Turn:
    kind: str  # "say" | "press" | "tap"
    value: str
    expect: Expect


@dataclass(frozen=True)
class Scenario:
    id: str
    theme: str
    bullet: str
    style: str
    turns: tuple[Turn, ...]
    end: Expect
    secrets: tuple[str, ...] = ()
    lang: str | None = None
    note: str = ""
    file: str = ""


@dataclass
class Outcome:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _scenario(raw: Any, theme: str, file: str) -> Scenario:
    if not isinstance(raw, dict) or "id" not in raw:
        raise ScenarioError(f"{file}: every scenario needs an 'id'")
    where = f"{file}: {raw['id']}"
    unknown = set(raw) - {"id", "bullet", "style", "turns", "end", "secrets", "lang", "note"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
    turns = []
    for i, t in enumerate(raw.get("turns") or []):
        kinds = [k for k in ("say", "press", "tap") if k in (t or {})]
        if len(kinds) != 1:
            raise ScenarioError(f"{where}, turn {i + 1}: exactly one of say / press / tap")
        turns.append(Turn(kinds[0], str(t[kinds[0]]), Expect.parse(t.get("expect"), f"{where}, turn {i + 1}")))
    if not turns:
        raise ScenarioError(f"{where}: no turns")
    style = str(raw.get("style", "vi"))
    if style not in ("vi", "plain", "teen", "en", "long"):
        raise ScenarioError(f"{where}: style must be vi, plain (no diacritics), teen, en or long")
    return Scenario(id=str(raw["id"]), theme=theme, bullet=str(raw.get("bullet", theme)), style=style,
                    turns=tuple(turns), end=Expect.parse(raw.get("end"), f"{where}, end"),
                    secrets=tuple(map(str, raw.get("secrets", []))), lang=raw.get("lang"),
                    note=str(raw.get("note", "")), file=file)


def load_scenarios(path: Path) -> list[Scenario]:
    """Every scenario of a file, or of every *.yml file under a directory (ids unique)."""
    files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
    scenarios: list[Scenario] = []
    for file in files:
        data = load_yaml(file.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
            raise ScenarioError(f"{file.name}: expected a mapping with 'theme' and a list 'scenarios'")
        theme = str(data.get("theme", file.stem))
        scenarios += [_scenario(raw, theme, file.name) for raw in data["scenarios"]]
    seen: set[str] = set()
    for s in scenarios:
        if s.id in seen:
            raise ScenarioError(f"{s.file}: scenario id {s.id!r} is used twice")
        seen.add(s.id)
    return scenarios


def _buttons(body: dict[str, Any]) -> list[dict[str, str]]:
    return [b for r in body.get("replies", []) for b in r.get("buttons", [])]


def _find_button(body: dict[str, Any], label: str) -> str | None:
    """The payload of the button with this label (exactly, else the first whose label contains it)."""
    buttons = _buttons(body)
    for b in buttons:
        if squash(b["label"]) == squash(label) or b["payload"] == label:
            return b["payload"]
    for b in buttons:
        if squash(label) in squash(b["label"]):
            return b["payload"]
    return None


def check(expect: Expect, body: dict[str, Any], where: str) -> list[str]:
    """What does not hold after one turn (or at the end, where `body` joins every reply)."""
    problems: list[str] = []
    state = body.get("state") or {}
    said = squash("\n".join(r.get("text", "") for r in body.get("replies", [])))
    shown = said + squash("\n".join(b["label"] for b in _buttons(body)))
    if expect.flow is not _UNSET:
        wanted = expect.flow if isinstance(expect.flow, list) else [expect.flow]
        if state.get("flow") not in wanted:
            problems.append(f"{where}: guide {state.get('flow')!r}, expected {' or '.join(map(repr, wanted))}")
    if expect.step is not None and state.get("step") != expect.step:
        problems.append(f"{where}: step {state.get('step')!r}, expected {expect.step}")
    if expect.intent is not None and state.get("intent") != expect.intent:
        problems.append(f"{where}: understood {state.get('intent')!r}, expected {expect.intent!r}")
    if expect.language is not None and state.get("language") != expect.language:
        problems.append(f"{where}: answered in {state.get('language')!r}, expected {expect.language!r}")
    for options in expect.says:
        if not any(squash(o) in said for o in options):
            problems.append(f"{where}: does not say {' / '.join(map(repr, options))}")
    for options in expect.shows:
        if not any(squash(o) in shown for o in options):
            problems.append(f"{where}: neither says nor offers {' / '.join(map(repr, options))}")
    for phrase in expect.not_says:
        if squash(phrase) in said:
            problems.append(f"{where}: says {phrase!r}, which it must not")
    for label in expect.buttons:
        if _find_button(body, label) is None:
            problems.append(f"{where}: no button {label!r}")
    return problems


def _way_on(body: dict[str, Any]) -> bool:
    """The resident can go on: a button to press, or a question asked of them."""
    replies = body.get("replies", [])
    return bool(_buttons(body)) or any("?" in r.get("text", "") for r in replies)


async def play(scenario: Scenario, post: Post, stored: Stored, user: str) -> Outcome:
    """Play one scenario; every failure is collected (a turn that cannot be played ends the scenario)."""
    out = Outcome(scenario)
    session: str | None = None
    last: dict[str, Any] = {}
    replies: list[dict[str, Any]] = []
    broken = False
    for i, turn in enumerate(scenario.turns, start=1):
        where = f"turn {i} ({turn.kind} {turn.value!r})"
        request: dict[str, Any] = {"session": session} if session else {"user": user}
        if scenario.lang and i == 1:
            request["lang"] = scenario.lang
        if turn.kind == "say":
            request["text"] = turn.value
        elif turn.kind == "tap":
            request["payload"] = turn.value
        else:
            payload = _find_button(last, turn.value)
            if payload is None:
                labels = [b["label"] for b in _buttons(last)]
                out.failures.append(f"{where}: no button labelled {turn.value!r} (offered: {labels})")
                broken = True
                break
            request["payload"] = payload
        last = await post(request)
        session = last.get("session") or session
        replies += last.get("replies", [])
        out.transcript.append(f"> {turn.value}")
        out.transcript += [f"  {r.get('text', '')}" + (f"  {[b['label'] for b in r.get('buttons', [])]}"
                                                          if r.get("buttons") else "") for r in last.get("replies", [])]
        out.transcript.append(f"  state: {last.get('state')}")
        out.failures += check(turn.expect, last, where)
        if turn.expect.way_on and not _way_on(last):
            out.failures.append(f"{where}: no way on (no button and no question)")
    if not broken:
        out.failures += check(scenario.end, {"replies": replies, "state": last.get("state")}, "end")
    if scenario.secrets:  # exactly as typed: list each spelling to look for ("48 29 15", "482915")
        kept = "\n".join(await stored())
        out.failures += [f"end: the secret {s!r} is stored in the database" for s in scenario.secrets if s in kept]
    return out


@dataclass
class Summary:
    outcomes: list[Outcome]

    def by(self, key: Callable[[Scenario], str]) -> dict[str, tuple[int, int]]:
        table: dict[str, tuple[int, int]] = {}
        for o in self.outcomes:
            good, total = table.get(key(o.scenario), (0, 0))
            table[key(o.scenario)] = (good + o.ok, total + 1)
        return dict(sorted(table.items()))

    def report(self, verbose: bool = False) -> str:
        good = sum(o.ok for o in self.outcomes)
        lines = [f"{good} of {len(self.outcomes)} conversations end well ({_pct(good, len(self.outcomes))})", ""]
        for title, key in (("by theme", lambda s: s.theme), ("by style", lambda s: s.style)):
            lines.append(f"{title}:")
            lines += [f"  {name:<22} {g:>3}/{t:<3} {_pct(g, t):>5}" for name, (g, t) in self.by(key).items()]
            lines.append("")
        if verbose:
            for o in self.outcomes:
                lines.append(f"== {o.scenario.id} ({'ok' if o.ok else 'FAILS'})")
                lines += [f"    {t}" for t in o.transcript]
            lines.append("")
        failed = [o for o in self.outcomes if not o.ok]
        if failed:
            lines.append("failures:")
        for o in failed:
            lines.append(f"- {o.scenario.id} [{o.scenario.theme}/{o.scenario.bullet}, {o.scenario.file}]")
            lines += [f"    {f}" for f in o.failures]
        return "\n".join(lines)


def _pct(good: int, total: int) -> str:
    return f"{100 * good / total:.0f}%" if total else "-"


def failing_ids(outcomes: Iterable[Outcome]) -> list[str]:
    return sorted(o.scenario.id for o in outcomes if not o.ok)
