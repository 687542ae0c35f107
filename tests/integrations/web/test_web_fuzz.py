"""Fuzzing the web chat API with Hypothesis (fixed seed, bounded budget) on SQLite and PostgreSQL: no request
gets a 5xx, and nothing is stored for a refused one.

The server runs on its own event loop in a thread and is called over real HTTP, so a Hypothesis example is a
plain function call. `python -m tests.integrations.web.test_web_fuzz http://127.0.0.1:8080` runs the same
cases against a running server and prints the status counts (how the before/after figures were measured)."""

from __future__ import annotations

import asyncio
import http.client
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.storage.db import Message, Resident

pytestmark = pytest.mark.slow  # load: 500 Hypothesis cases per database through a real server

EXAMPLES = 250  # per database; about 20 s each on a quiet machine
WEIRD = ["\x00", "\ud800", "\udfff", "²", "٣", "𝟙", "\u202e", "\x07", "\x85", "\r", "\ufeff", "\u0301"]
REAL = ["done", "menu", "human", "cancel", "lang:en", "village:dai-cuong", "case:end:²", "case:end:1",
        "#tl:case:end:²", "handoff=²", "handoff=1", "vi", "en", "pin" + " " * 4000, "a" * 4096, "a" * 4097]
FIELDS = ["session", "user", "text", "payload", "lang", "ack", "id"]
CHARSETS = ["", "; charset=utf-8", "; charset=latin-1", "; charset=utf-16", "; charset=x-unknown", "; charset="]

texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(WEIRD)), max_size=40) | st.sampled_from(REAL)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=6)


def bodies(session: str) -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, Content-Type) pairs: JSON objects mixing our fields with junk, raw bytes, deep nesting."""
    field = st.one_of(texts, scalars, values, st.just(session))
    objects = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, field))
    junk = st.dictionaries(texts, values, max_size=2)
    as_json = st.builds(
        lambda o, j, ascii_: json.dumps({**j, **o}, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"),
        objects, junk, st.booleans())
    deep = st.builds(lambda n, c: (c[0] * n + c[1] * n).encode(), st.integers(1, 5000),
                     st.sampled_from([("[", "]"), ('{"a":', "}")]))
    payload = st.one_of(as_json, as_json, as_json, st.binary(max_size=120), deep)
    kind = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
    return st.tuples(payload, st.builds(lambda k, c: k + c, kind, st.sampled_from(CHARSETS)))


def queries(session: str) -> st.SearchStrategy[str]:
    param = st.sampled_from(["session", "ack", "user", "x"])
    value = texts | st.just(session)
    pairs = st.lists(st.tuples(param, value), max_size=3)
    return pairs.map(lambda ps: "&".join(f"{k}={quote(v, errors='surrogatepass')}" for k, v in ps))


def send(base: str, method: str, path: str, body: bytes | None = None, ctype: str = "") -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": ctype} if ctype else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def fuzz(base: str, session: str, check: Callable[[int, bytes], None], examples: int = EXAMPLES) -> Counter[int]:
    """POST and poll cases against `base`; `check(status, body)` runs after each. Returns the status counts."""
    statuses: Counter[int] = Counter()
    budget = settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))

    @budget
    @given(case=bodies(session))
    def post(case: tuple[bytes, str]) -> None:
        status, answer = send(base, "POST", "/api/chat", case[0], case[1])
        statuses[status] += 1
        check(status, answer)

    @budget
    @given(query=queries(session))
    def poll(query: str) -> None:
        status, answer = send(base, "GET", "/api/chat/poll?" + query)
        statuses[status] += 1
        assert status < 500, (query, answer)

    post()
    poll()
    return statuses


class ServerThread:
    """The assistant's web app served on a loop of its own (a Hypothesis example calls it synchronously)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def served(settings, interpreter, database_url: str) -> Iterator[tuple[ServerThread, Any, str]]:  # type: ignore[no-untyped-def]
    from bot.storage.residents import Residents
    from integrations.web.chat import make_web_app
    from integrations.web.limits import WebLimits
    from kernel.settings import replace
    from tests.fakes.services import build_services

    server = ServerThread()
    services = server.call(build_services(replace(settings, database_url=database_url), interpreter=interpreter))
    app = make_web_app(services.pipeline, services.store, Residents(services.store), WebLimits.off(),
                       services.mailboxes)

    async def start() -> web.AppRunner:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner

    runner = server.call(start())
    port = runner.addresses[0][1]
    try:
        yield server, services, f"http://127.0.0.1:{port}"
    finally:
        server.call(runner.cleanup())
        server.call(services.close())
        server.stop()


def test_no_5xx_and_nothing_stored_for_refused_input(served) -> None:  # type: ignore[no-untyped-def]
    server, services, base = served
    status, answer = send(base, "POST", "/api/chat", b'{"text": "xin ch\\u00e0o"}', "application/json")
    assert status == 200
    session = json.loads(answer)["session"]

    async def counts() -> tuple[int, int]:
        async with services.store.session() as s:
            return ((await s.execute(select(func.count()).select_from(Resident))).scalar_one(),
                    (await s.execute(select(func.count()).select_from(Message))).scalar_one())

    before = [server.call(counts())]

    def check(status: int, answer: bytes) -> None:
        assert status < 500, answer
        now = server.call(counts())
        if status != 200:
            assert now == before[0], f"a refused request ({status}) stored something"
        before[0] = now

    statuses = fuzz(base, session, check)
    assert statuses[200] > 20 and statuses[400] > 20  # both accepted and refused input was tried


if __name__ == "__main__":
    result = fuzz(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "", lambda status, body: None,
                  int(sys.argv[3]) if len(sys.argv) > 3 else EXAMPLES)
    print(dict(sorted(result.items())), "5xx:", sum(n for s, n in result.items() if s >= 500))
