"""Settings come from config.yml, the environment overrides them, and bad values fail clearly."""

from pathlib import Path

import pytest

from kernel.settings import ROOT, ConfigError, load_settings


def test_defaults_from_the_project_config() -> None:
    s = load_settings(ROOT / "config.yml", env={})
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.database_url.endswith("var/assistant.db")
    assert Path(s.database_url.split("///", 1)[1]).is_absolute()
    assert (s.web.host, s.web.port) == ("127.0.0.1", 8080)
    assert s.default_language == "vi"
    assert s.telegram.token is None


def test_environment_overrides() -> None:
    env = {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/test", "BOT_PORT": "9999",
           "BOT_HOST": "0.0.0.0", "TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_MODE": "webhook",
           "TELEGRAM_API_URL": "http://127.0.0.1:1/bot", "TELEGRAM_WEBHOOK_SECRET": "s3cret"}
    s = load_settings(ROOT / "config.yml", env=env)
    assert s.database_url == env["DATABASE_URL"]
    assert (s.web.host, s.web.port) == ("0.0.0.0", 9999)
    assert s.telegram.token == "123:abc"
    assert s.telegram.mode == "webhook"
    assert s.telegram.api_url == "http://127.0.0.1:1/bot"
    assert s.telegram.webhook_secret == "s3cret"


def test_bad_values_raise_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "config.yml"
    bad.write_text("telegram:\n  mode: carrier-pigeon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="telegram.mode"):
        load_settings(bad, env={})
    bad.write_text("web: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yml", env={})


def test_secrets_are_not_read_from_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yml"
    cfg.write_text("telegram:\n  token: from-file\n", encoding="utf-8")
    assert load_settings(cfg, env={}).telegram.token is None


def test_telegram_settings() -> None:
    s = load_settings(ROOT / "config.yml", env={"TELEGRAM_STAFF_CHAT_IDS": "-1001, -1002"})
    assert s.telegram.staff_chat_ids == (-1001, -1002)
    assert s.telegram.token is None and s.telegram.mode == "polling" and s.telegram.rate_per_second <= 30
    with pytest.raises(ConfigError, match="staff_chat_ids"):
        load_settings(ROOT / "config.yml", env={"TELEGRAM_STAFF_CHAT_IDS": "group-one"})
