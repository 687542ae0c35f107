"""A broadcast rate above telegram.rate_per_second is said at start, not capped silently (issue 17, item 17)."""

from __future__ import annotations

import logging

import pytest

from kernel.settings import ROOT, load_settings


def test_a_broadcast_rate_above_the_bots_rate_is_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456:test-token-for-settings", "BROADCAST_RATE_TELEGRAM": "29"}
    with caplog.at_level(logging.WARNING, logger="kernel.settings"):
        settings = load_settings(ROOT / "config.yml", env=env)
    assert settings.broadcast.limits["telegram"].per_second == 29
    warned = [r.getMessage() for r in caplog.records if r.name == "kernel.settings"]
    assert len(warned) == 1 and "29" in warned[0] and "25" in warned[0], warned
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kernel.settings"):
        load_settings(ROOT / "config.yml", env={**env, "BROADCAST_RATE_TELEGRAM": "20"})
    assert not [r for r in caplog.records if r.name == "kernel.settings"]
