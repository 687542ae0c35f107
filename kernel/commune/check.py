"""Strict reading of the commune's YAML: every error names the file and the key path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time
from typing import Any


class CommuneError(ValueError):
    """A commune file cannot be used; the message starts with the file's name and names the key."""


def mapping(value: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    """A mapping with only the allowed keys (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CommuneError(f"{where} must be a mapping of keys, not {value!r}")
    unknown = [str(k) for k in value if k not in allowed]
    if unknown:
        file, _, path = where.partition(": ")
        keys = ", ".join(f"{path}.{k}" if path else k for k in unknown)
        raise CommuneError(f"{file}: unknown key {keys} (known: {', '.join(allowed)})")
    return value


def items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CommuneError(f"{where} must be a list, not {value!r}")
    return value


def text(value: Any, where: str, required: bool = False) -> str:
    """A non-structured value as text; numbers are accepted (a code may look like one)."""
    if value is None or value == "":
        if required:
            raise CommuneError(f"{where} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise CommuneError(f"{where} must be text, not {value!r}")
    return str(value).strip()


def texts(value: Any, where: str) -> tuple[str, ...]:
    return tuple(text(v, f"{where}[{i}]", required=True) for i, v in enumerate(items(value, where)))


def integer(value: Any, where: str, what: str = "a number") -> int | None:
    """An integer or None; "-100abc" is refused (it would fail at every use later)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CommuneError(f"{where} must be {what}, not {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise CommuneError(f"{where} must be {what}, not {value!r}") from None


def number(value: Any, where: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CommuneError(f"{where} must be a number of minutes (0 or more), not {value!r}")
    return float(value)


def clock(value: Any, where: str) -> time:
    """"HH:MM" (YAML may also hand over minutes since midnight for an unquoted 07:30)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    try:
        hh, mm = str(value).split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise CommuneError(f"{where} must be a time of day like \"07:30\", not {value!r}") from None


def known_codes(codes: Sequence[str], where: str, known: set[str]) -> None:
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise CommuneError(f"{where}: unknown village codes {unknown} (see villages.yml)")
