"""The safety filter: redact ID numbers, phone numbers and one-time codes before anything is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel.text import fold, prepare

# Digits possibly grouped by spaces, dots or dashes ("0912 345 678", "001.203.004.567").
_NUMBER = re.compile(r"(?<![\w])\+?\d(?:[\d]|[ .\-](?=\d)){3,}(?![\w])")
_OTP_CONTEXT = re.compile(
    r"\b(otp|ma|code|ma xac (nhan|thuc)|ma kich hoat|passcode|pin|mat khau|password|verification)\b")
# "mật khẩu là abc123", "passcode: 123456", "pass 1234": the secret after the word.
_SECRET_AFTER_WORD = re.compile(
    r"(?i)\b(m[aậâ]t\s*kh[aẩâ]u|pass(?:code|word)?|m[aã]\s*pin|pin)\b(\s*(?:l[aà]|is|:|=)?\s*)(\S+)")

REDACTED = {"id_number": "[id]", "phone_number": "[phone]", "otp_code": "[otp]", "secret": "[secret]"}


@dataclass(frozen=True)
class Screened:
    """A message after the safety filter: the redacted text and what was found in it."""

    text: str
    found: frozenset[str]

    @property
    def shared_secret(self) -> bool:
        """The resident typed a one-time code or a passcode: warn them never to share it."""
        return bool(self.found & {"otp_code", "secret"})


def _classify(digits: str, raw: str, context: str) -> str | None:
    n = len(digits)
    if n == 12:
        return "id_number"
    if (n == 10 and digits.startswith("0")) or (n == 11 and digits.startswith("84")) or raw.startswith("+"):
        return "phone_number"
    if 9 <= n <= 11:
        # 9-digit old ID cards and unusual phone formats: private either way.
        return "id_number" if n == 9 else "phone_number"
    if n > 12:
        return "id_number"
    if 4 <= n <= 8 and raw.isdigit() and (n == 6 or _OTP_CONTEXT.search(context)):
        return "otp_code"
    return None


def screen(text: str) -> Screened:
    """Redact private numbers and secrets from what a resident typed."""
    text = prepare(text)
    found: set[str] = set()
    folded = fold(text)  # one character per character: the context of a match is at its own offsets

    def secret(m: re.Match[str]) -> str:
        value = m.group(3)
        if value.startswith("[") or len(value) < 4 or not any(ch.isdigit() for ch in value) and len(value) < 6:
            return m.group(0)
        found.add("secret")
        return m.group(1) + m.group(2) + REDACTED["secret"]

    def number(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        start = max(0, m.start() - 30)
        kind = _classify(digits, raw, folded[start:m.start()])
        if kind is None:
            return raw
        found.add(kind)
        return REDACTED[kind]

    redacted = _NUMBER.sub(number, text)
    redacted = _SECRET_AFTER_WORD.sub(secret, redacted)
    return Screened(redacted, frozenset(found))
