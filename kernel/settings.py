"""Settings: config.yml parsed once into typed values, overridable from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    rate_limit_messages: int = 20
    rate_limit_window_seconds: float = 10.0
    # Messages and polls from one client address (IPv6: its /64) per window; new residents per minute
    # from one address and from all of them together.
    rate_limit_address_messages: int = 120
    new_residents_per_minute: int = 20
    new_residents_per_minute_total: int = 600
    # BOT_RATE_LIMITS=off turns every limit off (benchmarks and acceptance runs on loopback).
    rate_limits: bool = True


@dataclass(frozen=True)
class NluSettings:
    backend: str = "embedded"
    model_path: Path = ROOT / "nlu/models/model.pkl"
    data_dir: Path = ROOT / "nlu/data"
    threshold: float = 0.45
    ambiguity_margin: float = 0.08
    max_misunderstandings: int = 2
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 2.0


@dataclass(frozen=True)
class TelegramSettings:
    token: str | None = None
    api_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    webhook_secret: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_url: str = ""
    # Staff groups besides the teams' telegram_chat_id in the commune's teams.yml.
    staff_chat_ids: tuple[int, ...] = ()
    # Requests a second for the whole bot (Telegram allows about 30).
    rate_per_second: float = 25.0
    poll_timeout: int = 30


@dataclass(frozen=True)
class ZaloSettings:
    """The Zalo channel: an Official Account (OA Open API v3) or a Zalo Bot API bot."""

    mode: str = "oa"  # "oa" | "bot"
    app_id: str | None = None
    oa_secret_key: str | None = None  # signs webhook events (MAC), from the OA's webhook settings
    app_secret: str | None = None  # the app's secret key, sent when refreshing the access token
    access_token: str | None = None
    refresh_token: str | None = None
    api_url: str = ""  # default: https://openapi.zalo.me (oa) or https://bot-api.zaloplatforms.com (bot)
    oauth_url: str = "https://oauth.zaloapp.com"
    bot_token: str | None = None
    webhook_secret: str | None = None  # bot mode: the secret_token given to setWebhook
    webhook_url: str = ""  # bot mode: public https URL registered with setWebhook; empty: long polling
    webhook_path: str = "/zalo/webhook"
    max_event_age_seconds: float = 300.0
    refresh_margin_seconds: float = 600.0
    button_type: str = "oa.query.hide"

    @property
    def enabled(self) -> bool:
        if self.mode == "bot":
            return bool(self.bot_token)
        return bool(self.app_id and self.oa_secret_key and (self.access_token or self.refresh_token))

    @property
    def base_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        return "https://bot-api.zaloplatforms.com" if self.mode == "bot" else "https://openapi.zalo.me"


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var/assistant.db'}"
    web: WebSettings = field(default_factory=WebSettings)
    default_language: str = "vi"
    languages: tuple[str, ...] = ("vi", "en")
    nlu: NluSettings = field(default_factory=NluSettings)
    flows_dir: Path = ROOT / "dialogues/flows"
    max_step_chars: int = 600
    commune_dir: Path = ROOT / "communes/ung-hoa"
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    zalo: ZaloSettings = field(default_factory=ZaloSettings)
    locales_dir: Path = ROOT / "locales"
    extra: Mapping[str, Any] = field(default_factory=dict)


def _path(value: str | os.PathLike[str], base: Path) -> Path:
    p = Path(value)
    return p if p.is_absolute() else base / p


def _sqlite_url(url: str, base: Path) -> str:
    """Make a relative SQLite path in the URL relative to the config file, not the cwd."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(base / url[len(prefix):])
    return url


def _chat_ids(value: object) -> tuple[int, ...]:
    """Chat ids from a YAML list or a comma-separated environment value."""
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    try:
        return tuple(int(str(v).strip()) for v in items if str(v).strip())
    except ValueError:
        raise ValueError(f"telegram.staff_chat_ids must be chat ids (numbers), not {value!r}") from None


def load_settings(path: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yml (default: the project's) and apply environment overrides."""
    env = os.environ if env is None else env
    cfg_path = Path(path) if path else ROOT / "config.yml"
    try:
        raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {cfg_path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path} must hold a mapping of settings")
    base = cfg_path.resolve().parent
    try:
        return _build(raw, base, env)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cfg_path}: {exc}") from exc


def _switch(value: object, name: str) -> bool:
    """An on/off setting: YAML booleans or the words on/off, true/false, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{name} must be on or off, not {str(value)[:40]!r}")


def _build(raw: dict[str, Any], base: Path, env: Mapping[str, str]) -> Settings:
    web_raw = raw.get("web") or {}
    web = WebSettings(
        host=env.get("BOT_HOST", web_raw.get("host", "127.0.0.1")),
        port=int(env.get("BOT_PORT", web_raw.get("port", 8080))),
        rate_limit_messages=int(env.get("BOT_RATE_LIMIT_MESSAGES", web_raw.get("rate_limit_messages", 20))),
        rate_limit_window_seconds=float(web_raw.get("rate_limit_window_seconds", 10)),
        rate_limit_address_messages=int(web_raw.get("rate_limit_address_messages", 120)),
        new_residents_per_minute=int(web_raw.get("new_residents_per_minute", 20)),
        new_residents_per_minute_total=int(web_raw.get("new_residents_per_minute_total", 600)),
        rate_limits=_switch(env.get("BOT_RATE_LIMITS", web_raw.get("rate_limits", "on")), "BOT_RATE_LIMITS"),
    )
    n = raw.get("nlu") or {}
    nlu = NluSettings(
        backend=env.get("NLU_BACKEND", n.get("backend", "embedded")),
        model_path=_path(env.get("NLU_MODEL_PATH", n.get("model_path", "nlu/models/model.pkl")), base),
        data_dir=_path(n.get("data_dir", "nlu/data"), base),
        threshold=float(n.get("threshold", 0.45)),
        ambiguity_margin=float(n.get("ambiguity_margin", 0.08)),
        max_misunderstandings=int(n.get("max_misunderstandings", 2)),
        rasa_url=env.get("RASA_URL", n.get("rasa_url", "http://127.0.0.1:5005")),
        rasa_timeout_seconds=float(n.get("rasa_timeout_seconds", 2.0)),
    )
    if nlu.backend not in ("embedded", "rasa"):
        raise ValueError(f"nlu.backend must be 'embedded' or 'rasa', not {nlu.backend!r}")
    t = raw.get("telegram") or {}
    telegram = TelegramSettings(
        token=env.get("TELEGRAM_BOT_TOKEN") or None,
        api_url=env.get("TELEGRAM_API_URL", t.get("api_url", "https://api.telegram.org/bot")),
        mode=env.get("TELEGRAM_MODE", t.get("mode", "polling")),
        webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        webhook_path=t.get("webhook_path", "/telegram/webhook"),
        webhook_url=env.get("TELEGRAM_WEBHOOK_URL", t.get("webhook_url", "")),
        staff_chat_ids=_chat_ids(env.get("TELEGRAM_STAFF_CHAT_IDS", t.get("staff_chat_ids") or ())),
        rate_per_second=float(t.get("rate_per_second", 25)),
        poll_timeout=int(t.get("poll_timeout", 30)),
    )
    if telegram.mode not in ("polling", "webhook"):
        raise ValueError(f"telegram.mode must be 'polling' or 'webhook', not {telegram.mode!r}")
    if not 0 < telegram.rate_per_second <= 30:
        raise ValueError(f"telegram.rate_per_second must be above 0 and at most 30, not {telegram.rate_per_second}")
    zalo = _zalo(raw.get("zalo") or {}, env)
    i18n = raw.get("i18n") or {}
    d = raw.get("dialogues") or {}
    known = {"database_url", "web", "i18n", "nlu", "dialogues", "commune_dir", "telegram", "zalo"}
    return Settings(
        database_url=_sqlite_url(env.get("DATABASE_URL", raw.get("database_url", Settings.database_url)), base),
        web=web,
        default_language=i18n.get("default_language", "vi"),
        languages=tuple(i18n.get("languages", ["vi", "en"])),
        nlu=nlu,
        flows_dir=_path(d.get("flows_dir", "dialogues/flows"), base),
        max_step_chars=int(d.get("max_step_chars", 600)),
        commune_dir=_path(env.get("COMMUNE_DIR", raw.get("commune_dir", "communes/ung-hoa")), base),
        telegram=telegram,
        zalo=zalo,
        locales_dir=ROOT / "locales",
        extra={k: v for k, v in raw.items() if k not in known},
    )


def _zalo(z: dict[str, Any], env: Mapping[str, str]) -> ZaloSettings:
    """Zalo settings: secrets only from the environment, the rest from config.yml or the environment."""
    zalo = ZaloSettings(
        mode=env.get("ZALO_MODE", z.get("mode", "oa")),
        app_id=env.get("ZALO_APP_ID") or None,
        oa_secret_key=env.get("ZALO_OA_SECRET_KEY") or None,
        app_secret=env.get("ZALO_APP_SECRET") or None,
        access_token=env.get("ZALO_ACCESS_TOKEN") or None,
        refresh_token=env.get("ZALO_REFRESH_TOKEN") or None,
        api_url=env.get("ZALO_API_URL", z.get("api_url", "")) or "",
        oauth_url=env.get("ZALO_OAUTH_URL", z.get("oauth_url", "https://oauth.zaloapp.com")),
        bot_token=env.get("ZALO_BOT_TOKEN") or None,
        webhook_secret=env.get("ZALO_WEBHOOK_SECRET") or None,
        webhook_url=env.get("ZALO_WEBHOOK_URL", z.get("webhook_url", "")) or "",
        webhook_path=z.get("webhook_path", "/zalo/webhook"),
        max_event_age_seconds=float(z.get("max_event_age_seconds", 300)),
        refresh_margin_seconds=float(z.get("refresh_margin_seconds", 600)),
        button_type=z.get("button_type", "oa.query.hide"),
    )
    if zalo.mode not in ("oa", "bot"):
        raise ValueError(f"zalo.mode must be 'oa' or 'bot', not {zalo.mode!r}")
    if zalo.button_type not in ("oa.query.show", "oa.query.hide"):
        raise ValueError(f"zalo.button_type must be 'oa.query.show' or 'oa.query.hide', not {zalo.button_type!r}")
    if zalo.mode == "bot" and zalo.webhook_url and not zalo.webhook_secret:
        raise ValueError("ZALO_WEBHOOK_SECRET is required with ZALO_WEBHOOK_URL (8-256 characters, "
                         "the secret Zalo sends back with every event)")
    return zalo


__all__ = ["ConfigError", "Settings", "WebSettings", "NluSettings", "TelegramSettings", "ZaloSettings",
           "load_settings", "replace"]
