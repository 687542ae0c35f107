"""A conversation driver for tests: one resident talking to the real pipeline (`press` / `say` -> replies)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.app import Services
from dialogues.flows import END, Flow
from kernel.messages import Incoming, Reply, ResidentKey, TurnResult
from kernel.settings import Settings
from nlu.types import Parse
from tests.fakes.services import build_services

# (flow, step) of a resident in no guide; typed so a test may compare after a narrowing assert.
NO_GUIDE: tuple[str | None, int | None] = (None, None)


class ButtonsOnly:
    """The interpreter for conversations that only press buttons: a pressed button never reaches the NLU,
    so any call here is a bug in the pipeline and fails the test."""

    async def parse(self, text: str) -> Parse:
        raise AssertionError(f"button-only conversation reached the NLU with {text!r}")


@asynccontextmanager
async def assistant(settings: Settings, interpreter: object | None = None) -> AsyncIterator[Services]:
    services = await build_services(settings, interpreter=interpreter or ButtonsOnly())  # type: ignore[arg-type]
    try:
        yield services
    finally:
        await services.close()


@dataclass
class Conversation:
    services: Services
    user: str
    language: str | None = None
    channel: str = "web"
    last: TurnResult | None = field(default=None, init=False)

    @property
    def who(self) -> ResidentKey:
        return ResidentKey(self.channel, self.user)

    async def press(self, payload: str) -> list[Reply]:
        self.last = await self.services.pipeline.handle(Incoming(self.who, payload=payload, language=self.language))
        return list(self.last.replies)

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.services.pipeline.handle(Incoming(self.who, text=text, language=self.language))
        return list(self.last.replies)

    @property
    def state(self) -> tuple[str | None, int | None]:
        assert self.last is not None
        return self.last.state.flow, self.last.state.step


def payloads(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.flat_buttons()]


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def presses_to(flow: Flow, step_id: str) -> list[str]:
    """The shortest list of button payloads that leads from a guide's first step to `step_id`
    ("done" where a step has no choices, the choice's "go:<step>" where it has)."""
    first = flow.steps[0].id
    seen: dict[str, list[str]] = {first: []}
    todo = deque([first])
    while todo:
        here = todo.popleft()
        if here == step_id:
            return seen[here]
        step = flow.step(here)
        moves = ([(f"go:{c.next}", c.next) for c in step.choices] if step.choices
                 else [("done", flow.next_step(here))])
        for payload, target in moves:
            if target not in seen and target in {s.id for s in flow.steps}:
                seen[target] = [*seen[here], payload]
                todo.append(target)
    raise AssertionError(f"{flow.id}: step '{step_id}' cannot be reached by buttons")


def presses_to_end(flow: Flow) -> list[str]:
    """The shortest list of payloads that finishes the guide (ends it, not leaving for another guide)."""
    best: list[str] | None = None
    for step in flow.steps:
        path = presses_to(flow, step.id)
        finish = ([f"go:{c.next}" for c in step.choices if c.next == END] if step.choices
                  else (["done"] if flow.next_step(step.id) == END else []))
        if finish and (best is None or len(path) + 1 < len(best)):
            best = [*path, finish[0]]
    assert best is not None, f"{flow.id} cannot be finished by buttons"
    return best
