"""Fuzzing the Telegram webhook, the Zalo webhook and the staff commands with Hypothesis (fixed seed, bounded
budget) on SQLite and PostgreSQL: no request gets a 5xx, and nothing is stored for a refused one.

Bodies are well-formed updates and events carrying hostile values (NUL, lone surrogates, Unicode digits in
commands and payloads, deep nesting, odd charsets) as well as junk; Zalo events are signed correctly half the
time, so both the signature check and what lies behind it are exercised. Staff commands come from a staff
group, with the hand-off desk attached. The server runs on its own loop (tests/integrations/web/
test_web_fuzz.py's ServerThread) and is called over real HTTP."""

from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.storage.db import Message, Resident
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo import oa_settings
from tests.fakes.zalo_api import FakeZalo
from tests.integrations.web.test_web_fuzz import CHARSETS, REAL, ServerThread, texts, values

pytestmark = pytest.mark.slow  # load: 300 Hypothesis cases per database through real servers

EXAMPLES = 150  # per endpoint and database
STAFF = -100777
SECRET = "fuzz-webhook-secret"
COMMANDS = ["/claim", "/case", "/cases", "/end", "/done", "/help", "/claim@tro_ly_so_test_bot", "/x"]
numbers = st.integers(-(2**70), 2**70) | st.sampled_from(["1", "²", "٣", "𝟙", "", None, 1.5, True])
chats = st.sampled_from([3001, 3002, STAFF, -5, 0]) | numbers


def telegram_updates() -> st.SearchStrategy[tuple[bytes, str]]:
    user = st.fixed_dictionaries({"id": st.sampled_from([3001, 3002, 4001]) | numbers, "is_bot": st.booleans(),
                                  "first_name": texts})
    chat = st.fixed_dictionaries({"id": chats, "type": st.sampled_from(["private", "group", "supergroup", "x"])})
    command = st.builds(lambda c, a: f"{c} {a}", st.sampled_from(COMMANDS), texts)
    text = texts | command
    message = st.fixed_dictionaries({"message_id": numbers, "date": st.just(int(time.time())) | numbers,
                                     "chat": chat, "from": user, "text": text},
                                    optional={"message_thread_id": numbers, "is_topic_message": st.booleans()})
    query = st.fixed_dictionaries({"id": texts, "from": user, "chat_instance": texts, "data": texts,
                                   "message": message})
    update = st.fixed_dictionaries({"update_id": numbers}, optional={"message": message, "callback_query": query,
                                                                      "junk": values})
    as_json = st.builds(lambda u: json.dumps(u, ensure_ascii=False).encode("utf-8", "surrogatepass"), update)
    deep = st.builds(lambda n: (b'{"a":' * n) + b"1" + (b"}" * n), st.integers(1, 3000))
    body = st.one_of(as_json, as_json, as_json, st.binary(max_size=100), deep)
    return st.tuples(body, st.builds(lambda c: "application/json" + c, st.sampled_from(CHARSETS)))


def zalo_events(fake: FakeZalo) -> st.SearchStrategy[tuple[bytes, dict[str, str]]]:
    name = st.sampled_from(["user_send_text", "user_click_button", "follow", "unfollow", "user_send_image",
                            "user_send_business_card", "oa_send_text"]) | texts
    text = texts | st.builds(lambda p: "#tl:" + p, st.sampled_from(REAL) | texts)
    message = st.fixed_dictionaries({}, optional={"msg_id": texts | numbers, "text": text})
    event = st.fixed_dictionaries(
        {"app_id": st.just(fake.app_id), "event_name": name,
         "timestamp": st.one_of(st.just("now"), st.just("now"), st.just("now"), numbers)},
        optional={"sender": st.fixed_dictionaries({"id": st.sampled_from(["8100000001"]) | texts | numbers}),
                  "follower": st.fixed_dictionaries({"id": texts}), "message": message, "junk": values})

    def signed(body: dict[str, Any], sign: bool, charset: str) -> tuple[bytes, dict[str, str]]:
        if body["timestamp"] == "now":
            body["timestamp"] = str(int(time.time() * 1000))
        raw = json.dumps(body, ensure_ascii=False)
        mac = fake.sign(raw, str(body["timestamp"])) if sign else "mac=00"
        return (raw.encode("utf-8", "surrogatepass"),
                {"Content-Type": "application/json" + charset, "X-ZEvent-Signature": mac})

    deep = st.builds(lambda n: ((b"[" * n) + (b"]" * n), {"X-ZEvent-Signature": "mac=00"}), st.integers(1, 3000))
    return st.one_of(st.builds(signed, event, st.booleans(), st.sampled_from(["", "", "; charset=x-unknown"])),
                     deep)


@pytest.fixture
def served(settings, interpreter, database_url: str) -> Iterator[tuple[ServerThread, Any, str, FakeZalo]]:  # type: ignore[no-untyped-def]
    from bot.app import telegram_channel, zalo_channel
    from kernel.settings import replace
    from tests.fakes.pacing import TELEGRAM

    server = ServerThread()
    fake_tg = FakeTelegram()
    server.call(fake_tg.start())
    fake_tg.add_user(3001)
    fake_tg.add_group(STAFF, "Tổ CNS", forum=True)
    fake_zalo = FakeZalo()
    services = server.call(build_services(replace(settings, database_url=database_url), interpreter=interpreter))
    app = web.Application()

    async def start() -> tuple[web.AppRunner, web.AppRunner, Any, Any]:
        zalo_runner = web.AppRunner(fake_zalo.app(), access_log=None)
        await zalo_runner.setup()
        zalo_site = web.TCPSite(zalo_runner, "127.0.0.1", 0)
        await zalo_site.start()
        fake_zalo.url = f"http://127.0.0.1:{zalo_runner.addresses[0][1]}"  # type: ignore[attr-defined]
        tg = telegram_channel(services, replace(TELEGRAM, token=fake_tg.token, api_url=fake_tg.base_url,
                                                mode="webhook", webhook_secret=SECRET,
                                                webhook_url=f"{fake_tg.url}/hook-unused",
                                                staff_chat_ids=(STAFF,), rate_limits=False))
        zalo = zalo_channel(services, replace(oa_settings(fake_zalo), rate_limits=False))
        services.attach([tg, zalo])  # the staff desk's commands, as in production
        await services.outbox.start()
        await tg.start(app)
        await zalo.start(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner, zalo_runner, tg, zalo

    runner, zalo_runner, tg, zalo = server.call(start())
    try:
        yield server, services, f"http://127.0.0.1:{runner.addresses[0][1]}", fake_zalo
    finally:
        server.call(zalo.stop())
        server.call(tg.stop())
        server.call(runner.cleanup())
        server.call(zalo_runner.cleanup())
        server.call(services.close())
        server.call(fake_tg.close())
        server.stop()


def test_channel_webhooks_give_no_5xx_and_store_nothing_when_refusing(served) -> None:  # type: ignore[no-untyped-def]
    server, services, base, fake_zalo = served

    async def counts() -> tuple[int, int]:
        async with services.store.session() as s:
            return ((await s.execute(select(func.count()).select_from(Resident))).scalar_one(),
                    (await s.execute(select(func.count()).select_from(Message))).scalar_one())

    before = [server.call(counts())]
    statuses: Counter[tuple[str, int]] = Counter()
    budget = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))

    def check(where: str, status: int, answer: bytes) -> None:
        statuses[(where, status)] += 1
        assert status < 500, (where, answer[:300])
        now = server.call(counts())
        if status >= 400:
            assert now == before[0], f"a refused {where} request ({status}) stored something"
        before[0] = now

    @budget
    @given(case=telegram_updates())
    def telegram(case: tuple[bytes, str]) -> None:
        status, answer = send_with(base, "/telegram/webhook", case[0],
                                   {"Content-Type": case[1], "X-Telegram-Bot-Api-Secret-Token": SECRET})
        check("telegram", status, answer)

    @budget
    @given(case=zalo_events(fake_zalo))
    def zalo(case: tuple[bytes, dict[str, str]]) -> None:
        status, answer = send_with(base, "/zalo/webhook", case[0], case[1])
        check("zalo", status, answer)

    telegram()
    zalo()
    assert statuses[("telegram", 200)] > 10 and statuses[("telegram", 400)] > 10, statuses
    assert statuses[("zalo", 200)] > 10 and statuses[("zalo", 400)] + statuses[("zalo", 401)] > 10, statuses


def send_with(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()

