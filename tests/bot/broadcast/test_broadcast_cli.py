"""`python -m bot broadcast ...` as an operator runs it: a real process on a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import ROOT

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


def _bot(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", "broadcast", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)


def test_send_status_list_and_refusals(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    out = _bot(url, "send", "--as", "doan-thanh-nien", "--villages", "dai-cuong", "--topic", "class",
               "--vi", "Lớp kỹ năng số tối nay", "--en", "Digital skills class tonight",
               "--button", "menu|Xem danh mục|See the menu", "--at", "2030-01-01 19:00")
    assert out.returncode == 0, out.stderr
    assert "Lớp kỹ năng số tối nay\n[Xem danh mục] [Huỷ nhận thông báo]" in out.stdout
    assert "Digital skills class tonight\n[See the menu] [Stop announcements]" in out.stdout
    assert "broadcast 1: scheduled" in out.stdout
    refused = _bot(url, "send", "--as", "stranger", "--vi", "Tin giả")
    assert refused.returncode == 1 and "refused: 'stranger' is not listed in staff.yml" in refused.stdout
    bad_time = _bot(url, "send", "--as", "ubnd-xa", "--vi", "Tin", "--at", "tomorrow")
    assert bad_time.returncode == 1 and "--at 'tomorrow'" in bad_time.stdout
    listing = _bot(url, "list")
    assert listing.returncode == 0 and listing.stdout.count("\n") == 1  # the refused ones stored nothing
    assert "#1 scheduled topic=class by=doan-thanh-nien villages=dai-cuong" in listing.stdout
    # Scheduled for 2030: a worker with nothing to send on leaves it alone and exits.
    assert _bot(url, "work", "--until-idle").returncode == 0
    assert "#1 scheduled" in _bot(url, "status", "1").stdout
    assert "broadcast 1: cancelled" in _bot(url, "cancel", "1").stdout
    assert _bot(url, "status", "9").returncode == 1
