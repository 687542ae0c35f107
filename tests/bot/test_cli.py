"""`python -m bot chat` in a terminal: typed text and numbered buttons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import ROOT

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


def test_terminal_chat_runs_a_guide(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    # Ask for the guide, then press button 1 ("Xong rồi") of the first step.
    proc = subprocess.run([sys.executable, "-m", "bot", "chat", "--user", "cli-test"], cwd=ROOT, env=env,
                          input="cài ứng dụng vneid\n1\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Bước 1/" in out and "Bước 2/" in out
    assert "[1] Xong rồi" in out
