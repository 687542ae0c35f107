"""Playing the conversation suite against the whole assistant: `python -m bot converse FILE|DIR`.

Each scenario gets a fresh SQLite database and a new resident, and is played through the web chat's real
HTTP handlers (aiohttp's test server on loopback) with the real trained NLU model, exactly as the tests do.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.app import Services, build
from bot.converse import Outcome, Post, Scenario, Stored, Summary, failing_ids, load_scenarios, play
from bot.storage.db import Conversation, Message
from bot.storage.residents import Residents
from dialogues.flows import Library, load_library
from integrations.web.chat import WebLimits, make_web_app
from kernel.settings import Settings, load_settings, replace
from nlu.types import Interpreter

if TYPE_CHECKING:  # aiohttp's test server (unittest and unittest.mock with it) only when scenarios are played
    from aiohttp.test_utils import TestClient

SUITE = Path(__file__).resolve().parent.parent / "tests" / "conversations"


def poster(client: TestClient) -> Post:
    async def post(body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post("/api/chat", json=body)
        answer = await response.json()
        if response.status != 200:
            raise AssertionError(f"POST /api/chat answered {response.status}: {answer}")
        return answer
    return post


def stored_texts(services: Services) -> Stored:
    """Everything kept about the conversation: message texts and payloads, and the dialogue state."""
    async def stored() -> list[str]:
        async with services.store.session() as s:
            rows = (await s.execute(select(Message.text, Message.payload))).all()
            states = (await s.execute(select(Conversation.state))).scalars().all()
        return [t for row in rows for t in row if t] + list(states)
    return stored


@asynccontextmanager
async def web_chat(services: Services) -> AsyncIterator[TestClient]:
    """The web chat's real HTTP app on a loopback test server (no flood limits: scenarios are scripted)."""
    app = make_web_app(services.pipeline, services.store, Residents(services.store), WebLimits.off(),
                       services.mailboxes)
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        yield client


async def play_one(scenario: Scenario, settings: Settings, interpreter: Interpreter | None = None,
                   library: Library | None = None, *, database_url: str | None = None) -> Outcome:
    """Play one scenario on a database of its own: `database_url` when given (the tests pass a copy of a
    migrated file: migrating anew was most of a scenario's time), else a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="converse-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'converse.db'}"
        services = await build(replace(settings, database_url=url), interpreter=interpreter, library=library)
        try:
            async with web_chat(services) as client:
                return await play(scenario, poster(client), stored_texts(services), user=f"resident-{scenario.id}")
        finally:
            await services.close()


def add_parser(sub: Any) -> None:
    p = sub.add_parser("converse", help="play conversation scenarios (YAML) and print the share that ends well")
    p.add_argument("path", nargs="?", default=str(SUITE), help="a scenario file or a directory of them")
    p.add_argument("--only", action="append", default=[], help="play only this scenario id (repeatable)")
    p.add_argument("--transcripts", action="store_true", help="print every conversation in full")
    p.add_argument("--json", dest="json_out", help="also write the failing scenario ids to this JSON file")


async def run(args: argparse.Namespace) -> int:
    from contextlib import AsyncExitStack

    from bot.app import build_interpreter
    from kernel.commune import CommuneSource

    settings = load_settings(args.config)
    scenarios = load_scenarios(Path(args.path))
    if args.only:
        scenarios = [s for s in scenarios if s.id in set(args.only)]
    async with AsyncExitStack() as stack:  # one model for every scenario
        interpreter = await build_interpreter(settings, CommuneSource(settings.commune_dir), stack)
        library = load_library(settings.flows_dir)
        outcomes = [await play_one(s, settings, interpreter, library) for s in scenarios]
    summary = Summary(outcomes)
    print(summary.report(verbose=args.transcripts))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(failing_ids(outcomes), indent=1) + "\n", encoding="utf-8")
    return 0 if all(o.ok for o in outcomes) else 1
