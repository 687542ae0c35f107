"""A scripted session of residents through guides, then the funnel `python -m bot stats` prints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.stats import funnel_table
from kernel.settings import ROOT, Settings, replace
from tests.fakes.driver import Conversation, assistant

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


async def test_funnel_after_a_scripted_session(settings: Settings, database_url: str) -> None:
    async with assistant(replace(settings, database_url=database_url)) as services:
        async def resident(name: str, *presses: str) -> None:
            conv = Conversation(services, name)
            await conv.press("village:kim-duong")
            for p in presses:
                await conv.press(p)

        flow = "flow:vneid_install"  # steps: open_store, search, install, open_app
        await resident("a", flow, "done", "done", "done", "done")                    # completes
        await resident("b", flow, "done", "stuck", "done", "done", "done")          # stuck at search, completes
        await resident("c", flow, "done", "stuck", "stuck", "human:stuck")           # stuck twice, then a person
        await resident("d", flow, "done", "done", "cancel")                          # cancels at install
        await resident("e", flow)                                                    # stops at the first step
        await resident("f", flow, "done", "intent:digital_skills_class", "resume", "done", "done", "done")
        await resident("g", "flow:pay_qr", "human")                                  # a person at step 1
        table = {f.flow: f for f in await funnel_table(services.store, services.library)}

    install = table["vneid_install"]
    assert (install.started, install.completed, install.cancelled, install.handoff) == (6, 3, 1, 1)
    steps = {s.step: s for s in install.steps}
    assert [s.step for s in install.steps] == ["open_store", "search", "install", "open_app"]
    assert [steps[s].reached for s in ("open_store", "search", "install", "open_app")] == [6, 5, 4, 3]
    assert [steps[s].stuck for s in ("open_store", "search", "install", "open_app")] == [0, 2, 0, 0]
    assert [steps[s].stopped for s in ("open_store", "search", "install", "open_app")] == [1, 1, 1, 0]
    qr = table["pay_qr"]
    assert (qr.started, qr.completed, qr.handoff, qr.steps[0].stopped) == (1, 0, 1, 1)
    assert set(table) == {"vneid_install", "pay_qr"}

    env = {**os.environ, "DATABASE_URL": database_url}
    run = subprocess.run([sys.executable, "-m", "bot", "stats"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "vneid_install — Cài ứng dụng VNeID chính thức" in out
    assert "started 6, completed 3 (50%), cancelled 1, handed off 1" in out
    assert any(line.split() == ["2.", "search", "5", "2", "1"] for line in out.splitlines()), out
