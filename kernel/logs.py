"""No secret and no resident text in any log, at any level.

Two leaks came from libraries, not from our own lines: httpx logs every request's URL at INFO, and
a Bot API URL holds the bot token (`.../bot<token>/sendMessage`); PTB logs each Bot API call's
parameters and answers at DEBUG, which hold what residents and teams wrote. So:

- `hide(secret)` registers a secret (a channel does it with its token when it is built); every log
  record, from any logger, has it replaced by "[hidden]" in its message, arguments and traceback
  before any handler sees it (a log record factory: it covers handlers added later too);
- `quiet_libraries()` keeps the loggers that print request bodies or URLs at WARNING, whatever
  level the root logger runs at (-v turns on DEBUG for our own modules only).
"""

from __future__ import annotations

import logging
import threading

HIDDEN = "[hidden]"
# Loggers that print URLs (with tokens) or message bodies (with resident text) below WARNING.
CHATTY = ("httpx", "httpcore", "telegram", "hpack", "aiohttp.client", "sqlalchemy.engine", "aiosqlite",
          "asyncpg")

_secrets: set[str] = set()
_lock = threading.Lock()
_base_factory = logging.getLogRecordFactory()


def _redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


def _factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is logging's problem; keep it visible
        return record
    clean = _redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info:
        # The formatter reuses exc_text when it is set: an exception's text may hold a URL.
        record.exc_text = _redact(logging.Formatter().formatException(record.exc_info))
    return record


def hide(secret: str | None) -> None:
    """Never log `secret` (tokens, keys). Short values are refused: they would blank ordinary words."""
    if not secret or len(secret) < 8:
        return
    with _lock:
        _secrets.add(secret)
        if logging.getLogRecordFactory() is not _factory:
            logging.setLogRecordFactory(_factory)
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep the chatty libraries at WARNING or above (their own level, so the root's -v does not reach them)."""
    for name in CHATTY:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) included: it would follow the root
            logger.setLevel(logging.WARNING)


__all__ = ["hide", "quiet_libraries", "HIDDEN"]
