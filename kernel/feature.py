"""The feature contract: what a feature (hand-off, broadcasts, ...) declares to join the assistant.

A feature is a value built once by the composition root (bot/app.py). The pipeline builds its
tables from the features (two claims of one payload prefix, effect or staff command are a
start-up error), the staff desks route what staff do to the features' staff handlers, the
server starts the features' workers after every channel and desk is attached, and the command
line adds the features' subcommands. Nothing is patched in afterwards, and no feature imports
the application object back.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kernel.messages import MediaFile, Reply
from kernel.ports import Mailbox

# A turn's scope is the pipeline's (bot.pipeline.TurnScope): the open transaction, the resident,
# the translator, the dialogue state. Features live in bot/ and may name it; the kernel does not.
EffectHandler = Callable[[Any, Any], Awaitable[list[Reply]]]  # (scope, effect) -> replies
PayloadHandler = Callable[[Any, str], Awaitable[list[Reply]]]  # (scope, payload) -> replies
# Sees a turn before the dialogue engine; returning replies (not None) takes the turn over.
Interceptor = Callable[[Any], Awaitable[list[Reply] | None]]
# A resident's photo or voice note (Incoming.media) inside the turn: (scope, file) -> replies.
MediaHandler = Callable[[Any, MediaFile], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class StaffAction:
    """Something a staff member did at a staff desk: a command, a button press or a message.

    `place` is where it happened (a Telegram group's chat id, "web" for the browser desk),
    `thread` the case's topic there if any. Ids are strings whatever the desk."""

    desk: str
    place: str
    thread: str | None
    user_id: str
    user_name: str
    text: str  # command arguments, message text, or the button's payload
    message_id: str | None = None
    reply_to: str | None = None
    # Answers a button press with a short notice over the chat (desks without that ignore it).
    answer: Callable[[str | None, bool], Awaitable[None]] | None = None

    @property
    def args(self) -> tuple[str, ...]:
        return tuple(self.text.split())


# Returns replies to post back where the action happened; None = "not mine" (the next handler is tried).
StaffHandler = Callable[[StaffAction], Awaitable[Sequence[Reply] | None]]


# A subcommand of `python -m bot`: runs with the parsed arguments, returns the exit status.
CliRunner = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
# Adds a feature's subcommands to the command line's subparsers and returns their runners by name. It is a
# plain function of the feature's module: the command line is read before anything is built.
CliAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], Mapping[str, CliRunner]]


class Worker(Protocol):
    """A background task of a feature (an outbox, a delivery queue), started after the channels."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Feature:
    """Everything one feature plugs in, declared in one place."""

    name: str
    effects: Mapping[type, EffectHandler] = field(default_factory=dict)
    payloads: Mapping[str, PayloadHandler] = field(default_factory=dict)  # prefix before ":" -> handler
    interceptor: Interceptor | None = None
    media: MediaHandler | None = None  # residents' photos and voice notes (one feature at most)
    staff_commands: Mapping[str, StaffHandler] = field(default_factory=dict)  # "cases" serves /cases
    staff_buttons: Mapping[str, StaffHandler] = field(default_factory=dict)  # payload prefix -> handler
    staff_messages: StaffHandler | None = None  # any other text at a staff desk
    mailboxes: Sequence[Mailbox] = ()
    workers: Sequence[Worker] = ()
    cli: CliAdder | None = None  # the feature's subcommands of `python -m bot`


class FeatureConflict(Exception):
    """Two features claim the same effect, payload prefix or staff command."""


def claims(features: Sequence[Feature], pick: Callable[[Feature], Mapping[Any, Any]], what: str) -> dict[Any, Any]:
    """One table from every feature's claims of one kind; a second claim of a key is an error."""
    table: dict[Any, Any] = {}
    owner: dict[Any, str] = {}
    for feature in features:
        for key, value in pick(feature).items():
            if key in table:
                raise FeatureConflict(f"{what} {key!r} is claimed by both {owner[key]} and {feature.name}")
            table[key] = value
            owner[key] = feature.name
    return table


@dataclass(frozen=True)
class StaffRouter:
    """Every feature's staff handlers in one table, handed to each staff desk before it receives."""

    commands: Mapping[str, StaffHandler] = field(default_factory=dict)
    buttons: Mapping[str, StaffHandler] = field(default_factory=dict)
    messages: Sequence[StaffHandler] = ()

    @classmethod
    def of(cls, features: Sequence[Feature]) -> StaffRouter:
        return cls(commands=claims(features, lambda f: f.staff_commands, "staff command"),
                   buttons=claims(features, lambda f: f.staff_buttons, "staff button prefix"),
                   messages=tuple(f.staff_messages for f in features if f.staff_messages is not None))

    async def command(self, name: str, action: StaffAction) -> Sequence[Reply] | None:
        """`/name args` at a desk (action.text holds the arguments); None if no feature serves it."""
        handler = self.commands.get(name.lower())
        return None if handler is None else await handler(action)

    async def button(self, action: StaffAction) -> Sequence[Reply] | None:
        """A button pressed at a desk (action.text is its payload `prefix:...`)."""
        handler = self.buttons.get(action.text.partition(":")[0])
        return None if handler is None else await handler(action)

    async def message(self, action: StaffAction) -> Sequence[Reply] | None:
        """Other text at a desk: the handlers in order until one takes it (returns not None)."""
        for handler in self.messages:
            replies = await handler(action)
            if replies is not None:
                return replies
        return None
