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
    # Refused rather than silently ignored: the error says where the secret goes.
    secret = r"telegram.token is a secret: set it in the environment \(TELEGRAM_BOT_TOKEN\)"
    with pytest.raises(ConfigError, match=secret):
        load_settings(cfg, env={})
    cfg.write_text("zalo:\n  bot_token: from-file\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ZALO_BOT_TOKEN"):
        load_settings(cfg, env={})


@pytest.mark.parametrize(("text", "message"), [
    ("web:\n  prot: 8080\n", "unknown setting web.prot"),
    ("nlu:\n  threshhold: 0.5\n", "unknown setting nlu.threshhold"),
    ("escalation:\n  lease: 60\n", "unknown setting escalation.lease"),
    ("broadcast:\n  max_attempt: 5\n", "unknown setting broadcast.max_attempt"),
    ("broadcast:\n  rate_limits:\n    zalo: {per_secnd: 5}\n", "unknown setting broadcast.rate_limits.zalo.per_secnd"),
    ("databse_url: x\n", "unknown setting databse_url"),
    ("web:\n  port: eighty\n", "web.port must be a whole number, not 'eighty'"),
    ("web:\n  rate_limits: maybe\n", "web.rate_limits must be true or false"),
    ("escalation:\n  poll_seconds: [5]\n", "escalation.poll_seconds must be a number"),
    ("broadcast:\n  resend_in_doubt: sometimes\n", "broadcast.resend_in_doubt must be true or false"),
    ("i18n:\n  languages: vi\n", "i18n.languages must be a list"),
    ("telegram:\n  staff_chat_ids: [-1001, group]\n", r"telegram.staff_chat_ids\[1\] must be a whole number"),
    ("web: 8080\n", "web must be a mapping of settings"),
])
def test_unknown_keys_and_wrong_types_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "config.yml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, env={})


def test_every_section_is_typed() -> None:
    env = {"BOT_RATE_LIMITS": "off", "BOT_RATE_LIMIT_MESSAGES": "7", "BROADCAST_RATE_ZALO": "4",
           "COMMUNE_DIR": "/tmp/c", "NLU_BACKEND": "rasa", "RASA_URL": "http://127.0.0.1:9", "ZALO_MODE": "bot",
           "ZALO_BOT_TOKEN": "t"}
    s = load_settings(ROOT / "config.yml", env=env)
    assert s.web.rate_limits is False and s.web.rate_limit_messages == 7
    assert load_settings(ROOT / "config.yml", env={}).web.rate_limits is True
    assert s.broadcast.limits["zalo"].per_second == 4 and s.broadcast.limits["telegram"].per_second == 20
    assert s.broadcast.max_attempts == 5 and s.broadcast.resend_in_doubt is True
    assert (s.escalation.lease_seconds, s.escalation.poll_seconds, s.escalation.reminder_check_seconds) == (60, 5, 30)
    assert str(s.commune_dir) == "/tmp/c" and s.nlu.backend == "rasa" and s.nlu.rasa_url == "http://127.0.0.1:9"
    assert s.zalo.mode == "bot" and s.zalo.bot_token == "t" and s.zalo.enabled
    assert not hasattr(s, "extra")
    with pytest.raises(ConfigError, match="BOT_RATE_LIMITS"):
        load_settings(ROOT / "config.yml", env={"BOT_RATE_LIMITS": "sometimes"})


def test_telegram_settings() -> None:
    s = load_settings(ROOT / "config.yml", env={"TELEGRAM_STAFF_CHAT_IDS": "-1001, -1002"})
    assert s.telegram.staff_chat_ids == (-1001, -1002)
    assert s.telegram.token is None and s.telegram.mode == "polling" and s.telegram.rate_per_second <= 30
    with pytest.raises(ConfigError, match="staff_chat_ids"):
        load_settings(ROOT / "config.yml", env={"TELEGRAM_STAFF_CHAT_IDS": "group-one"})
