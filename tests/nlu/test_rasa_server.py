"""The Rasa backend against a real Rasa 3.6 server trained on nlu/data (`make test-rasa` starts nothing
itself: the fixture below starts `rasa run --enable-api` on a free loopback port and stops it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from kernel.messages import Incoming, ResidentKey
from kernel.settings import ROOT, Settings, replace
from nlu.evaluate import read_labelled
from nlu.intents import INTENTS
from nlu.rasa_backend import RasaInterpreter
from tests.fakes.net import free_port

RASA = ROOT / "rasa" / ".venv" / "bin" / "rasa"
MODEL = ROOT / "rasa" / "models" / "nlu.tar.gz"
HELDOUT = ROOT / "nlu" / "eval" / "heldout.jsonl"
STARTUP_SECONDS = 240
# The first test waits for the server to load its model: more than the suite's per-test timeout (pytest.ini).
pytestmark = [pytest.mark.rasa, pytest.mark.timeout(STARTUP_SECONDS + 120)]



@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Rasa server on loopback serving the model `make rasa-model` trained."""
    if not RASA.exists() or not MODEL.exists():
        pytest.fail(f"no Rasa environment or model ({RASA}, {MODEL}): run `make test-rasa`, which builds them")
    port = free_port()
    log_path = tmp_path_factory.mktemp("rasa") / "rasa.log"
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(RASA), "run", "--enable-api", "--model", str(MODEL),
                                   "--interface", "127.0.0.1", "--port", str(port)],
                                  cwd=tmp_path_factory.mktemp("rasa-cwd"), env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"Rasa exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2) as response:
                    if json.load(response).get("model_file"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Rasa did not load its model within {STARTUP_SECONDS} s:\n"
                            f"{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# Plainly worded requests: each must reach its intent whatever the backend.
CLEAR = {
    "xin chào": "greet",
    "cảm ơn bạn nhiều": "thank",
    "làm sao để cài ứng dụng VNeID": "vneid_install",
    "tôi muốn đăng ký tài khoản VNeID": "vneid_register",
    "quên mật khẩu VNeID thì làm thế nào": "vneid_forgot_passcode",
    "đăng ký khai sinh cho con online": "birth_registration",
    "thanh toán tiền điện online": "pay_utility_bill",
    "có người gọi điện hỏi mã OTP của tôi": "report_scam",
    "cho tôi gặp người hỗ trợ": "human_handoff",
}


async def test_a_real_rasa_server_understands_plain_requests(rasa_url: str) -> None:
    rasa = RasaInterpreter(rasa_url, 5.0)
    try:
        parses = {text: await rasa.parse(text) for text in CLEAR}
    finally:
        await rasa.close()
    assert {text: p.intent for text, p in parses.items()} == CLEAR
    for p in parses.values():
        assert 0.0 < p.confidence <= 1.0
        assert p.ranking[0] == (p.intent, p.confidence)
        assert all(name in INTENTS for name, _ in p.ranking), "only our intents, never nlu_fallback"
        assert [c for _, c in p.ranking] == sorted((c for _, c in p.ranking), reverse=True)


async def test_entities_come_back_as_canonical_values_with_spans(rasa_url: str) -> None:
    rasa = RasaInterpreter(rasa_url, 5.0)
    try:
        village = (await rasa.parse("dang ky vneid o thon Dong Lo")).entity("village")
        language = (await rasa.parse("chuyển sang tiếng Anh")).entity("language")
    finally:
        await rasa.close()
    # The synonyms of nlu/data map what was typed onto the canonical value; the span is the typed text.
    assert village is not None and village.value == "Đông Lỗ"
    assert "dang ky vneid o thon Dong Lo"[village.start:village.end] == "Dong Lo"
    assert language is not None and language.value == "en"
    assert "chuyển sang tiếng Anh"[language.start:language.end] == "tiếng Anh"


async def test_heldout_accuracy_through_rasa(rasa_url: str) -> None:
    """The whole held-out set over HTTP: every answer maps to our intents; accuracy has a floor."""
    cases = read_labelled(HELDOUT)
    rasa = RasaInterpreter(rasa_url, 10.0)
    try:
        predicted = [(await rasa.parse(c.text)).intent for c in cases]
    finally:
        await rasa.close()
    assert set(predicted) <= set(INTENTS)
    accuracy = sum(p == c.intent for p, c in zip(predicted, cases, strict=True)) / len(cases)
    assert accuracy >= 0.85, f"Rasa held-out accuracy {accuracy:.3f} (measured 0.928 in README)"


async def test_the_assistant_runs_on_rasa(rasa_url: str, settings: Settings) -> None:
    """nlu.backend: rasa in the settings -> the whole pipeline asks Rasa, and a guide starts."""
    from bot.app import build

    settings = replace(settings, nlu=replace(settings.nlu, backend="rasa", rasa_url=rasa_url))
    services = await build(settings)
    try:
        assert isinstance(services.interpreter, RasaInterpreter)
        result = await services.pipeline.handle(Incoming(ResidentKey("web", "r1"), text="làm sao để cài ứng dụng VNeID",
                                                         message_id="m1"))
        assert result.state.intent == "vneid_install" and result.state.flow == "vneid_install"
        assert result.replies[-1].text.startswith("Bước 1/")
        assert services.interpreter.fallbacks == 0 and not services.interpreter.down
    finally:
        await services.close()


def test_evaluate_cli_with_the_rasa_backend(rasa_url: str) -> None:
    out = subprocess.run([sys.executable, "-m", "nlu", "evaluate", "--backend", "rasa", "--json", str(HELDOUT)],
                         cwd=ROOT, env={**os.environ, "RASA_URL": rasa_url}, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["n"] == len(read_labelled(HELDOUT))
    assert report["accuracy"] >= 0.85 and set(report["by_style"]) >= {"diacritics", "english"}

