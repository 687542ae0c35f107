"""`python -m bot broadcast ...` as an operator runs it, on a SQLite file: a real process for the first command and
a refusal (exit codes, output), then bot.__main__.main in the test's process (a process costs a second of CPU)."""

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


class Cli:
    """`python -m bot broadcast ARGS` in this process: (exit code, what it printed; its log lines in caplog)."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str]:
        from bot.__main__ import main

        try:
            code = main(["broadcast", *args])
        except SystemExit as exc:  # argparse refusing the arguments
            code = int(exc.code or 0)
        return code, self.capsys.readouterr().out


def test_send_status_list_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
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
    bot = Cli(url, monkeypatch, capsys)
    code, printed = bot("send", "--as", "ubnd-xa", "--vi", "Tin", "--at", "tomorrow")
    assert code == 1 and "--at 'tomorrow'" in printed
    code, printed = bot("list")
    assert code == 0 and printed.count("\n") == 1  # the refused ones stored nothing
    assert "#1 scheduled topic=class by=doan-thanh-nien villages=dai-cuong" in printed
    # Scheduled for 2030: a worker with nothing to send on leaves it alone and exits.
    assert bot("work", "--until-idle")[0] == 0
    assert "#1 scheduled" in bot("status", "1")[1]
    assert bot("cancel", "1")[0] == 2  # who cancels must be said
    code, printed = bot("cancel", "1", "--as", "stranger")
    assert code == 1 and "'stranger' is not listed in staff.yml" in printed
    caplog.clear()
    code, printed = bot("cancel", "1", "--as", "doan-thanh-nien")  # its author
    assert "broadcast 1: cancelled" in printed
    assert "broadcast cancel requested as staff 'doan-thanh-nien' by OS user" in caplog.text
    assert bot("status", "9")[0] == 1
