"""The server process loads only what it serves with: no scikit-learn (the model is arrays scored with
numpy), no Alembic on an up-to-date database, no python-telegram-bot without a Telegram token,
no Pillow (residents' photos only), no phonenumbers (the desk's contact edits only), no test server and no
CLDR locale data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import ROOT
from nlu.model import IntentModel
from tests.fakes.net import free_port

# `python -m bot run` itself (its command line builds every subcommand's parser), one resident's turn over
# HTTP, then SIGTERM; at exit the process reports what it had imported.
SERVE = """
import atexit, gc, json, os, signal, sys, threading, time, urllib.request
from bot.__main__ import main

def resident():
    url = f"http://127.0.0.1:{os.environ['BOT_PORT']}/api/chat"
    body = json.dumps({"text": "làm sao cài ứng dụng VNeID"}).encode()
    for _ in range(300):
        try:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            answer = json.load(urllib.request.urlopen(request, timeout=10))
            break
        except OSError:
            time.sleep(0.1)
    print(json.dumps({"intent": answer["state"]["intent"]}), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

def report():
    cldr = getattr(sys.modules.get("babel.localedata"), "_cache", {})  # the CLDR locales Babel has loaded
    print(json.dumps({"modules": sorted(sys.modules), "frozen": gc.get_freeze_count(), "cldr": sorted(cldr)}))

atexit.register(report)
threading.Thread(target=resident, daemon=True).start()
raise SystemExit(main(["run"]))
"""
# Nor the test server of `converse` (unittest), nor Babel's CLDR locale data (4.3 MB a process).
NOT_SERVED = ("sklearn", "scipy", "joblib", "alembic", "mako", "telegram", "httpx", "PIL", "phonenumbers",
              "unittest")


@pytest.mark.slow
def test_the_server_imports_nothing_it_does_not_serve_with(tmp_path: Path, database_url: str) -> None:
    url = database_url  # at the head already, as on every start but the first (SQLite, then PostgreSQL)
    # The trained model as `python -m nlu train` saves it now (a model file of the previous format, trained
    # before this checkout's code, is exported at load, which needs scikit-learn).
    IntentModel.load(ROOT / "nlu" / "models" / "model.pkl").save(tmp_path / "model.pkl")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env |= {"DATABASE_URL": url, "BOT_PORT": str(free_port()), "PYTHONPATH": str(ROOT),
            "NLU_MODEL_PATH": str(tmp_path / "model.pkl")}
    done = subprocess.run([sys.executable, "-c", SERVE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["intent"] for line in lines if "intent" in line] == ["vneid_install"]
    answer = lines[-1]
    loaded = {name.partition(".")[0] for name in answer["modules"]} | set(answer["modules"])
    assert "numpy" in loaded and "aiohttp" in loaded and "babel" in loaded
    assert not loaded & set(NOT_SERVED), sorted(loaded & set(NOT_SERVED))
    if url.startswith("sqlite"):  # nor the other database's SQL dialect (PostgreSQL's is 2.3 MB)
        assert "sqlalchemy.dialects.postgresql" not in loaded and "asyncpg" not in loaded
    assert answer["cldr"] == []
    # What start-up built is out of the garbage collector's full collections (bot/server.py, settle).
    assert answer["frozen"] > 50_000
