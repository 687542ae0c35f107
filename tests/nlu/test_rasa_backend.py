"""RasaInterpreter against a fake Rasa server on loopback speaking Rasa 3.6's real /model/parse shape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from nlu.interpreter import EmbeddedInterpreter
from nlu.rasa_backend import RasaInterpreter, RasaUnavailable, parse_from_rasa
from nlu.types import Entity
from tests.fakes.net import free_port

# Answers recorded from a real `rasa run --enable-api` (Rasa 3.6.21, rasa/config.yml, trained on
# nlu/data); intent_ranking cut to its first four of 38 entries.
REGISTER_WITH_VILLAGE: dict[str, object] = {
    "text": "dang ky vneid o thon Dong Lo",
    "intent": {"name": "vneid_register", "confidence": 0.842452347278595},
    "entities": [{"entity": "village", "start": 21, "end": 28, "confidence_entity": 0.9986692667007446,
                  "value": "Đông Lỗ", "extractor": "DIETClassifier", "processors": ["EntitySynonymMapper"]}],
    "text_tokens": [[0, 4], [5, 7], [8, 13], [14, 15], [16, 20], [21, 25], [26, 28]],
    "intent_ranking": [{"name": "vneid_register", "confidence": 0.842452347278595},
                       {"name": "vneid_level2", "confidence": 0.01773495227098465},
                       {"name": "change_language", "confidence": 0.016822466626763344},
                       {"name": "pay_public_fee", "confidence": 0.015625135973095894}],
}
# FallbackClassifier fired (top intent below 0.45): the pseudo-intent first, the real ranking after it.
FALLBACK: dict[str, object] = {
    "text": "xem nào",
    "intent": {"name": "nlu_fallback", "confidence": 0.45},
    "entities": [],
    "text_tokens": [[0, 3], [4, 7]],
    "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45},
                       {"name": "help", "confidence": 0.377636194229126},
                       {"name": "deny", "confidence": 0.06716325134038925},
                       {"name": "out_of_scope", "confidence": 0.06079966202378273}],
}


class FakeRasa:
    """A loopback stand-in for `rasa run --enable-api`; `mode` says how it behaves."""

    def __init__(self) -> None:
        self.mode = "normal"
        self.requests: list[dict[str, object]] = []
        self.answers: dict[str, dict[str, object]] = {
            str(REGISTER_WITH_VILLAGE["text"]): REGISTER_WITH_VILLAGE, str(FALLBACK["text"]): FALLBACK}

    async def parse(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "slow":
            await asyncio.sleep(1.5)
        if self.mode == "error":
            return web.json_response({"version": "3.6.21", "status": "failure", "reason": "ParsingError",
                                      "message": "An unexpected error occurred.", "code": 500}, status=500)
        if self.mode == "garbage":
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        return web.json_response(self.answers[body["text"]])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/parse", self.parse)
        return app


@pytest.fixture
async def fake_rasa(aiohttp_server: AiohttpServer) -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    server = await aiohttp_server(fake.app())
    yield fake, str(server.make_url("")).rstrip("/")


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def test_maps_intent_confidence_ranking_and_entities(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    rasa = RasaInterpreter(url, 2.0)
    try:
        parse = await rasa.parse("dang ky vneid o thon Dong Lo")
    finally:
        await rasa.close()
    assert fake.requests == [{"text": "dang ky vneid o thon Dong Lo"}]
    assert parse.intent == "vneid_register"
    assert parse.confidence == pytest.approx(0.8425, abs=1e-4)
    assert [name for name, _ in parse.ranking] == ["vneid_register", "vneid_level2", "change_language",
                                                   "pay_public_fee"]
    assert parse.entities == (Entity("village", "Đông Lỗ", 21, 28),)
    assert parse.entity("village") is not None and rasa.fallbacks == 0


async def test_one_session_serves_every_message(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    rasa = RasaInterpreter(url, 2.0)
    await rasa.start()
    session = rasa._session
    results = await asyncio.gather(*(rasa.parse("dang ky vneid o thon Dong Lo") for _ in range(20)))
    assert rasa._session is session and len(fake.requests) == 20
    assert {p.intent for p in results} == {"vneid_register"}
    await rasa.close()
    assert session is not None and session.closed


async def test_rasa_fallback_intent_becomes_the_best_real_intent(fake_rasa: tuple[FakeRasa, str]) -> None:
    _, url = fake_rasa
    rasa = RasaInterpreter(url, 2.0)
    parse = await rasa.parse("xem nào")
    await rasa.close()
    # The engine sees the low confidence itself and asks what was meant.
    assert parse.intent == "help" and parse.confidence == pytest.approx(0.3776, abs=1e-4)
    assert [name for name, _ in parse.ranking] == ["help", "deny", "out_of_scope"]


def test_empty_intent_and_malformed_answers() -> None:
    empty = parse_from_rasa("", {"text": "", "intent": {"name": None, "confidence": 0.0},
                                 "entities": [], "intent_ranking": []})
    assert (empty.intent, empty.confidence) == ("out_of_scope", 0.0)
    with pytest.raises(RasaUnavailable):
        parse_from_rasa("x", {"error": "no model"})
    odd = parse_from_rasa("x", {"intent": {"name": "greet", "confidence": 0.9},
                                "entities": [{"entity": "village"}, {"entity": "bill_type", "value": "điện",
                                                                     "start": 0, "end": 3}]})
    assert odd.entities == (Entity("bill_type", "điện", 0, 3),) and odd.ranking == (("greet", 0.9),)


async def test_rasa_down_falls_back_to_the_embedded_model(
        interpreter: EmbeddedInterpreter, caplog: pytest.LogCaptureFixture) -> None:
    rasa = RasaInterpreter(_closed_port_url(), 2.0, fallback=interpreter)
    with caplog.at_level(logging.DEBUG, logger="nlu.rasa_backend"):
        parse = await rasa.parse("làm sao để cài ứng dụng VNeID")
        again = await rasa.parse("làm sao để cài ứng dụng VNeID")
    await rasa.close()
    expected = await interpreter.parse("làm sao để cài ứng dụng VNeID")
    assert parse == expected == again and parse.intent == "vneid_install"
    assert rasa.down and rasa.fallbacks == 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "one clear error when Rasa goes down, not one per message"
    assert "cannot reach" in errors[0].getMessage() and "embedded model" in errors[0].getMessage()


async def test_timeout_falls_back_and_later_messages_do_not_wait(
        fake_rasa: tuple[FakeRasa, str], interpreter: EmbeddedInterpreter) -> None:
    fake, url = fake_rasa
    fake.mode = "slow"
    rasa = RasaInterpreter(url, 0.3, fallback=interpreter, retry_seconds=60)
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = await rasa.parse("dang ky vneid o thon Dong Lo")
    took = loop.time() - started
    assert 0.25 <= took < 2.0
    assert first == await interpreter.parse("dang ky vneid o thon Dong Lo")
    started = loop.time()
    await rasa.parse("dang ky vneid o thon Dong Lo")
    assert loop.time() - started < 0.25, "while Rasa is down the fallback answers at once"
    assert len(fake.requests) == 1 and rasa.fallbacks == 2
    await rasa.close()


async def test_recovers_when_rasa_answers_again(
        fake_rasa: tuple[FakeRasa, str], interpreter: EmbeddedInterpreter, caplog: pytest.LogCaptureFixture) -> None:
    fake, url = fake_rasa
    fake.mode = "error"
    rasa = RasaInterpreter(url, 2.0, fallback=interpreter, retry_seconds=0)
    with caplog.at_level(logging.WARNING, logger="nlu.rasa_backend"):
        assert (await rasa.parse("dang ky vneid o thon Dong Lo")) is not None
        assert rasa.down and "HTTP 500" in caplog.records[0].getMessage()
        fake.mode = "normal"
        parse = await rasa.parse("dang ky vneid o thon Dong Lo")
    await rasa.close()
    assert not rasa.down and parse.entities == (Entity("village", "Đông Lỗ", 21, 28),)
    assert "answers again" in caplog.records[-1].getMessage()


@pytest.mark.parametrize("mode", ["error", "garbage"])
async def test_without_fallback_a_failure_raises(fake_rasa: tuple[FakeRasa, str], mode: str) -> None:
    fake, url = fake_rasa
    fake.mode = mode
    rasa = RasaInterpreter(url, 2.0)
    with pytest.raises(RasaUnavailable):
        await rasa.parse("dang ky vneid o thon Dong Lo")
    await rasa.close()


@pytest.mark.slow
def test_evaluate_with_rasa_down_says_so_and_fails(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from kernel.settings import ROOT

    labelled = tmp_path / "few.jsonl"
    labelled.write_text('{"text": "xin chào", "intent": "greet"}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "nlu", "evaluate", "--backend", "rasa", str(labelled)],
                         cwd=ROOT, env={**os.environ, "RASA_URL": _closed_port_url()},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    assert "cannot reach" in out.stderr and "make rasa" in out.stderr
