"""What the kill-and-restart tests share: a server process's config and environment, and a fake Bot API able
to hold one chat's messages in flight."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import yaml

from kernel.settings import ROOT
from tests.fakes.telegram_api import ApiError, FakeTelegram


class GatedTelegram(FakeTelegram):
    """The fake Bot API; while `gate` is clear, messages to `chat` hang in flight (then, once it is set, they
    fail unrecorded: Telegram never receives a request whose sender died before sending it completely)."""

    def __init__(self, chat: int) -> None:
        super().__init__()
        self.chat = chat
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = 0

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if str(params.get("chat_id")) == str(self.chat) and not self.gate.is_set():
            self.held += 1
            self._notify()
            await self.gate.wait()
            raise ApiError(502, "Bad Gateway")
        return await super()._m_sendMessage(params)


def write_config(tmp_path: Path, commune: Path) -> Path:
    """The project's config with absolute paths, the commune at `commune` and a short outbox lease (so the
    test need not wait), in tmp_path/config.yml."""
    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    raw["nlu"]["model_path"] = str(ROOT / raw["nlu"]["model_path"])
    raw["nlu"]["data_dir"] = str(ROOT / raw["nlu"]["data_dir"])
    raw["dialogues"]["flows_dir"] = str(ROOT / raw["dialogues"]["flows_dir"])
    raw["commune_dir"] = str(commune)
    raw["escalation"] = {"lease_seconds": 3, "poll_seconds": 0.2, "files_dir": str(tmp_path / "case-files")}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def server_env(database_url: str, port: int, fake: FakeTelegram) -> dict[str, str]:
    """The environment of `python -m bot run` on the database, serving the web chat on the port and Telegram
    (long polling) through the fake Bot API."""
    return {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1",
            "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "TELEGRAM_MODE": "polling"}
