"""The server process loads only what it serves with: no scikit-learn (the model is arrays scored with
numpy), no Alembic on an up-to-date database, no python-telegram-bot without a Telegram token,
no Pillow (residents' photos only) and no phonenumbers (the desk's contact edits only)."""

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

SERVE = """
import asyncio, gc, json, sys
from bot.app import build
from bot.server import serve
from kernel.settings import load_settings

async def main():
    services = await build(load_settings(None))
    stop = asyncio.Event()
    parse = await services.interpreter.parse("làm sao cài ứng dụng VNeID")
    asyncio.get_running_loop().call_later(0.5, stop.set)
    try:
        await serve(services, stop)
    finally:
        await services.close()
    return parse.intent

intent = asyncio.run(main())
print(json.dumps({"intent": intent, "modules": sorted(sys.modules), "frozen": gc.get_freeze_count()}))
"""
NOT_SERVED = ("sklearn", "scipy", "joblib", "alembic", "mako", "telegram", "httpx", "PIL", "phonenumbers")


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
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["intent"] == "vneid_install"
    loaded = {name.partition(".")[0] for name in answer["modules"]}
    assert "numpy" in loaded and "aiohttp" in loaded
    assert not loaded & set(NOT_SERVED), sorted(loaded & set(NOT_SERVED))
    # What start-up built is out of the garbage collector's full collections (bot/server.py, settle).
    assert answer["frozen"] > 50_000
