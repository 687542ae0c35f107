"""Input normalised at the edge of every channel: what a resident, a team or a platform sends, made safe
for the core and the database before anything else reads it (one helper for the web, Telegram, Zalo and
the desks).

PostgreSQL refuses U+0000 in text, lone surrogates cannot be encoded, `int("²")` raises although
`"²".isdigit()` is true, and Python's JSON parser recurses once per nesting level. Each of these gave a
500 (or an event redelivered forever); here they become a cleaned value or a `Refused` with a plain
explanation (a 400, or a polite reply where the platform has no error status).
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata

MAX_DEPTH = 32  # JSON nesting any of our clients or platforms uses is under 10
MAX_INT_DIGITS = 18  # fits a PostgreSQL BIGINT
_ASCII_INT = re.compile(rf"[0-9]{{1,{MAX_INT_DIGITS}}}")
# Payloads and other tokens we issue are printable ASCII without spaces.
_TOKEN = re.compile(r"[\x21-\x7e]+")
# Control characters except tab and newline (C0, DEL, C1); they have no place in a chat message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Refused(ValueError):
    """Input that cannot be used; the message is a plain explanation for the sender (no internals)."""


def clean_text(value: str) -> str:
    """Typed text as the core may read and store it: lone surrogates become U+FFFD, NUL and other
    control characters go (tab and newline stay, a carriage return becomes a newline), NFC form."""
    value = _SURROGATE.sub("\ufffd", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", value))


def token(value: object, name: str, max_length: int = 128) -> str:
    """A payload, id or cursor: printable ASCII without spaces, non-empty and at most `max_length`.
    Anything else is refused rather than "fixed": `case:end:²` must not become `case:end:2`."""
    if not isinstance(value, str) or not value or len(value) > max_length or not _TOKEN.fullmatch(value):
        raise Refused(f"'{name}' must be a non-empty string of at most {max_length} printable ASCII characters.")
    return value


def ascii_int(value: str) -> int | None:
    """The number written in ASCII digits only (a case id in a command or a payload), else None.
    `str.isdigit()` accepts "²" and "٣", which `int()` then rejects or reads differently."""
    value = value.strip()
    return int(value) if _ASCII_INT.fullmatch(value) else None


def ascii_id(value: str) -> int | None:
    """A platform's numeric id written as text (a Telegram group's is negative: "-1001234567890"), else None."""
    value = value.strip()
    number = ascii_int(value.removeprefix("-"))
    return -number if number is not None and value.startswith("-") else number


def decode_body(raw: bytes, charset: str | None) -> str:
    """A request body as text: UTF-8 unless the Content-Type names another charset Python knows."""
    name = charset or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        raise Refused(f"Unknown charset {name[:40]!r}: send UTF-8.") from None
    try:
        return raw.decode(name)
    except (UnicodeDecodeError, ValueError):
        raise Refused(f"The body is not valid {name[:40]} text.") from None


def depth(value: object) -> int:
    """How deeply a parsed JSON value nests (iterative: a deep value must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(raw: bytes | str, charset: str | None = None, max_depth: int = MAX_DEPTH) -> object:
    """A request body parsed as JSON, or Refused (bad charset, bad JSON, nested deeper than `max_depth`)."""
    text = decode_body(raw, charset) if isinstance(raw, bytes) else raw
    try:
        value = json.loads(text)
    except RecursionError:
        raise Refused(f"The JSON is nested too deeply (at most {max_depth} levels).") from None
    except ValueError:
        raise Refused("The body is not valid JSON.") from None
    if depth(value) > max_depth:
        raise Refused(f"The JSON is nested too deeply (at most {max_depth} levels).")
    return value
