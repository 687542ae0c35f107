"""Settings: config.yml parsed once into typed values, overridable from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kernel.config_read import ConfigError, one_of, section
from kernel.logs import hide
from kernel.yamlfile import load_yaml

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")  # argon2.profiles' names


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
    # Chat requests worked on at once (each waits for the database); past it one is answered 503 at once,
    # and the page sends it again a few seconds later (not a flood limit: BOT_RATE_LIMITS=off keeps it).
    max_requests_in_progress: int = 200
    # The desk's password hashes: one of argon2-cffi's profiles. RFC_9106_LOW_MEMORY (64 MiB, 3 passes, about
    # 0.1 s of CPU a login) is argon2's own default; CHEAPEST is for the tests, never for a real desk.
    password_profile: str = "RFC_9106_LOW_MEMORY"


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
    # Pacing a chat: Telegram allows about one message a second to a person and 20 a minute to a group.
    # Tests shorten both (tests/fakes/pacing.py); the limits themselves are tested at this pace.
    chat_interval_seconds: float = 1.05
    group_per_minute: float = 19.0
    poll_timeout: int = 30
    # Per resident (private chat): at most this many messages in the window; more get one slow-down notice.
    rate_limit_messages: int = 20
    rate_limit_window_seconds: float = 10.0
    rate_limits: bool = True  # BOT_RATE_LIMITS=off turns the limit off (benchmarks)
    # A failed update is tried again after retry_seconds, doubling up to retry_max_seconds (kept while
    # the database is down).
    retry_seconds: float = 0.5
    retry_max_seconds: float = 8.0

    @property
    def file_url(self) -> str:
        """Where files are downloaded: https://api.telegram.org/file/bot<token>/<path> beside the API's /bot."""
        base = self.api_url.rstrip("/")
        return f"{base[:-4]}/file/bot" if base.endswith("/bot") else f"{base}/file/bot"


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
    # Fernet key (ZALO_TOKEN_KEY) encrypting the OA's tokens in the database; required in OA mode.
    token_key: str | None = None
    webhook_url: str = ""  # bot mode: public https URL registered with setWebhook; empty: long polling
    webhook_path: str = "/zalo/webhook"
    max_event_age_seconds: float = 300.0
    refresh_margin_seconds: float = 600.0
    button_type: str = "oa.query.hide"
    # When refreshing the token fails, how long to wait for another process (a broadcast worker) that
    # may have spent the refresh token a moment ago to save what it got.
    token_grace_seconds: float = 3.0
    # Per resident: at most this many events in the window; more are acknowledged and dropped.
    rate_limit_messages: int = 20
    rate_limit_window_seconds: float = 10.0
    rate_limits: bool = True  # BOT_RATE_LIMITS=off turns the limit off (benchmarks)

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
class EscalationSettings:
    """The hand-off's delivery worker (teams, members and hours are in the commune's teams.yml)."""

    lease_seconds: float = 60.0  # a message being sent is retried after this if the process died
    poll_seconds: float = 5.0  # the delivery worker also checks the database this often
    reminder_check_seconds: float = 30.0  # how often unclaimed cases are checked for reminders
    files_dir: Path = ROOT / "var/case-files"  # residents' photos and voice notes, one folder per case
    files_keep_days: float = 30.0  # kept this long after their case ended (deleted at once on "forget me")


@dataclass(frozen=True)
class PlatformLimit:
    """How fast one platform accepts pushed messages."""

    per_second: float  # across the whole bot, all workers together
    per_chat_seconds: float = 1.0  # at least this long between two messages to one chat
    # Fraction of the limit actually used, so the jitter between a send's slot and its
    # arrival at the platform never tips a one-second window over the limit.
    headroom: float = 0.97

    @property
    def rate(self) -> float:
        return self.per_second * self.headroom


@dataclass(frozen=True)
class BroadcastSettings:
    limits: Mapping[str, PlatformLimit] = field(default_factory=lambda: {
        "telegram": PlatformLimit(30.0, 1.0), "zalo": PlatformLimit(10.0, 1.0)})
    lease_seconds: float = 60.0  # a claim not settled within this is taken back by another worker
    max_attempts: int = 5
    backoff_seconds: float = 5.0  # first retry; doubles each attempt
    backoff_max_seconds: float = 600.0
    max_in_flight: int = 64  # deliveries a worker process holds at once (waiting for their slot or sending)
    lookahead_seconds: float = 0.25  # how far ahead of the send schedule a worker claims
    poll_seconds: float = 0.5  # idle wait before looking for work again
    check_seconds: float = 1.0  # how often a worker starts due broadcasts, takes back claims, reports
    report_every_seconds: float = 30.0
    # Rows a previous worker claimed but never settled (it died mid-send) are sent again:
    # an announcement twice is better than a scam warning never. `false` marks them failed.
    resend_in_doubt: bool = True


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
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    broadcast: BroadcastSettings = field(default_factory=BroadcastSettings)


def _sqlite_url(url: str, base: Path) -> str:
    """Make a relative SQLite path in the URL relative to the config file, not the cwd."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(base / url[len(prefix):])
    return url


def load_settings(path: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yml (default: the project's) and apply environment overrides."""
    env = os.environ if env is None else env
    cfg_path = Path(path) if path else ROOT / "config.yml"
    try:
        raw = load_yaml(cfg_path.read_text(encoding="utf-8")) or {}
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


@dataclass(frozen=True)
class _I18n:
    default_language: str = "vi"
    languages: tuple[str, ...] = ("vi", "en")


@dataclass(frozen=True)
class _Dialogues:
    flows_dir: Path = ROOT / "dialogues/flows"
    max_step_chars: int = 600


@dataclass(frozen=True)
class _Top:
    """config.yml's top level: the sections are read on their own."""

    database_url: str = Settings.database_url
    commune_dir: Path = Settings.commune_dir


SECTIONS = ("web", "i18n", "nlu", "dialogues", "telegram", "zalo", "escalation", "broadcast")


def _build(raw: dict[str, Any], base: Path, env: Mapping[str, str]) -> Settings:
    top = section(_Top, {k: v for k, v in raw.items() if k not in SECTIONS}, "", base, env,
                  env_names={"database_url": "DATABASE_URL", "commune_dir": "COMMUNE_DIR"})
    web = section(WebSettings, raw.get("web"), "web", base, env, env_names={
        "host": "BOT_HOST", "port": "BOT_PORT", "rate_limit_messages": "BOT_RATE_LIMIT_MESSAGES",
        "new_residents_per_minute_total": "BOT_NEW_RESIDENTS_PER_MINUTE_TOTAL", "rate_limits": "BOT_RATE_LIMITS"})
    one_of(web.password_profile, PASSWORD_PROFILES, "web.password_profile")
    nlu = section(NluSettings, raw.get("nlu"), "nlu", base, env, env_names={
        "backend": "NLU_BACKEND", "model_path": "NLU_MODEL_PATH", "rasa_url": "RASA_URL"})
    one_of(nlu.backend, ("embedded", "rasa"), "nlu.backend")
    telegram = section(TelegramSettings, raw.get("telegram"), "telegram", base, env, env_names={
        "api_url": "TELEGRAM_API_URL", "mode": "TELEGRAM_MODE", "webhook_url": "TELEGRAM_WEBHOOK_URL",
        "staff_chat_ids": "TELEGRAM_STAFF_CHAT_IDS", "rate_limits": "BOT_RATE_LIMITS"},
        secrets={"token": "TELEGRAM_BOT_TOKEN", "webhook_secret": "TELEGRAM_WEBHOOK_SECRET"})
    one_of(telegram.mode, ("polling", "webhook"), "telegram.mode")
    if not 0 < telegram.rate_per_second <= 30:
        raise ValueError(f"telegram.rate_per_second must be above 0 and at most 30, not {telegram.rate_per_second}")
    i18n = section(_I18n, raw.get("i18n"), "i18n", base, env)
    zalo = _zalo(raw.get("zalo"), base, env)
    for secret in (telegram.token, telegram.webhook_secret, zalo.app_secret, zalo.oa_secret_key, zalo.access_token,
                   zalo.refresh_token, zalo.bot_token, zalo.webhook_secret, zalo.token_key):
        hide(secret)  # no secret in any log line (kernel/logs.py)
    d = section(_Dialogues, raw.get("dialogues"), "dialogues", base, env)
    broadcast = _broadcast(raw.get("broadcast"), base, env)
    bc_telegram = broadcast.limits.get("telegram")
    if telegram.token and bc_telegram is not None and bc_telegram.per_second > telegram.rate_per_second:
        # In the server, announcements go through the channel's limiter: say so rather than cap silently.
        log.warning("broadcast.rate_limits.telegram.per_second is %g but telegram.rate_per_second is %g: "
                    "announcements sent by the server go at most %g a second (raise telegram.rate_per_second, "
                    "at most 30, or lower the broadcast rate)", bc_telegram.per_second, telegram.rate_per_second,
                    telegram.rate_per_second)
    return Settings(
        database_url=_sqlite_url(top.database_url, base), web=web,
        default_language=i18n.default_language, languages=i18n.languages, nlu=nlu,
        flows_dir=d.flows_dir, max_step_chars=d.max_step_chars, commune_dir=top.commune_dir,
        telegram=telegram, zalo=zalo, locales_dir=ROOT / "locales",
        escalation=section(EscalationSettings, raw.get("escalation"), "escalation", base, env),
        broadcast=broadcast,
    )


def _zalo(raw: Any, base: Path, env: Mapping[str, str]) -> ZaloSettings:
    """Zalo settings: secrets only from the environment, the rest from config.yml or the environment."""
    zalo = section(ZaloSettings, raw, "zalo", base, env, env_names={
        "mode": "ZALO_MODE", "api_url": "ZALO_API_URL", "oauth_url": "ZALO_OAUTH_URL",
        "webhook_url": "ZALO_WEBHOOK_URL", "rate_limits": "BOT_RATE_LIMITS"}, secrets={
        "app_id": "ZALO_APP_ID", "oa_secret_key": "ZALO_OA_SECRET_KEY", "app_secret": "ZALO_APP_SECRET",
        "access_token": "ZALO_ACCESS_TOKEN", "refresh_token": "ZALO_REFRESH_TOKEN",
        "bot_token": "ZALO_BOT_TOKEN", "webhook_secret": "ZALO_WEBHOOK_SECRET", "token_key": "ZALO_TOKEN_KEY"})
    one_of(zalo.mode, ("oa", "bot"), "zalo.mode")
    one_of(zalo.button_type, ("oa.query.show", "oa.query.hide"), "zalo.button_type")
    if zalo.mode == "bot" and zalo.webhook_url and not zalo.webhook_secret:
        raise ValueError("ZALO_WEBHOOK_SECRET is required with ZALO_WEBHOOK_URL (8-256 characters, "
                         "the secret Zalo sends back with every event)")
    return zalo


def _broadcast(raw: Any, base: Path, env: Mapping[str, str]) -> BroadcastSettings:
    """The `broadcast:` section; BROADCAST_RATE_<PLATFORM> overrides a platform's messages/second."""
    limits_raw = (raw or {}).get("rate_limits") if isinstance(raw, Mapping) else None
    if limits_raw is None:
        limits_raw = {"telegram": {"per_second": 30}, "zalo": {"per_second": 10}}
    if not isinstance(limits_raw, Mapping):
        raise ConfigError(f"broadcast.rate_limits must map platforms to limits, not {limits_raw!r}")
    limits: dict[str, PlatformLimit] = {}
    for name, spec in limits_raw.items():
        where = f"broadcast.rate_limits.{name}"
        spec = {"per_second": 30, **(spec or {})} if isinstance(spec, Mapping) or spec is None else spec
        limits[name] = section(PlatformLimit, spec, where, base, env,
                               env_names={"per_second": f"BROADCAST_RATE_{str(name).upper()}"})
        if limits[name].per_second <= 0:
            raise ConfigError(f"{where}.per_second must be positive")
    rest = {k: v for k, v in raw.items() if k != "rate_limits"} if isinstance(raw, Mapping) else raw
    return section(BroadcastSettings, rest, "broadcast", base, env, custom={"limits": limits})


__all__ = ["BroadcastSettings", "ConfigError", "EscalationSettings", "NluSettings", "PlatformLimit", "Settings",
           "TelegramSettings", "WebSettings", "ZaloSettings", "load_settings", "replace"]
