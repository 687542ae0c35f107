"""A conversation driver for tests: one resident talking to the real pipeline (`press` / `say` -> replies)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.app import Services, build
from kernel.messages import Incoming, Reply, ResidentKey, TurnResult
from kernel.settings import Settings
from nlu.types import Parse

# (flow, step) of a resident in no guide; typed so a test may compare after a narrowing assert.
NO_GUIDE: tuple[str | None, int | None] = (None, None)


class ButtonsOnly:
    """The interpreter for conversations that only press buttons: a pressed button never reaches the NLU,
    so any call here is a bug in the pipeline and fails the test."""

    async def parse(self, text: str) -> Parse:
        raise AssertionError(f"button-only conversation reached the NLU with {text!r}")


@asynccontextmanager
async def assistant(settings: Settings, interpreter: object | None = None) -> AsyncIterator[Services]:
    services = await build(settings, interpreter=interpreter or ButtonsOnly())  # type: ignore[arg-type]
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
