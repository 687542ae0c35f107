"""Shared set-up for the hand-off tests: a commune whose teams have Telegram groups, and a settable clock."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from kernel.settings import ROOT

TEAM_CHAT = -1002  # Đại Cường's team: a forum supergroup
COMMUNE_CHAT = -1001  # the fallback team (the commune's): a plain group
MEMBER, OTHER_MEMBER, COMMUNE_MEMBER, STRANGER = 7001, 7002, 9001, 6666
ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def write_commune(directory: Path, *, hours: dict[str, object] | None = None, remind: int = 15,
                  escalate: int = 45) -> Path:
    """A copy of the commune's data where Đại Cường and the commune team have groups and members."""
    shutil.copytree(ROOT / "communes/ung-hoa", directory, dirs_exist_ok=True)
    always = {"days": ALL_WEEK, "start": "00:00", "end": "23:59"}
    teams = {
        "timezone": "Asia/Ho_Chi_Minh", "fallback": "commune",
        "remind_after_minutes": remind, "escalate_after_minutes": escalate,
        "teams": [
            {"id": "commune", "name": "Tổ công nghệ số xã Ứng Hòa", "villages": [],
             "telegram_chat_id": COMMUNE_CHAT, "members": [COMMUNE_MEMBER], "hours": always,
             "contact": "điểm phục vụ hành chính công của xã"},
            {"id": "dai-cuong", "name": "Tổ công nghệ số Đại Cường", "villages": ["dai-cuong"],
             "telegram_chat_id": TEAM_CHAT, "members": [MEMBER, OTHER_MEMBER], "hours": hours or always,
             "contact": "nhà văn hoá thôn"},
        ]}
    (directory / "teams.yml").write_text(yaml.safe_dump(teams, allow_unicode=True), encoding="utf-8")
    return directory


class Clock:
    """A clock the test moves by hand (UTC, timezone-aware)."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) -> None:
        self.now = start  # 10:00 on a Wednesday in Hà Nội

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
