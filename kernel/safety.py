"""The safety filter: redact ID numbers, phone numbers, one-time codes and passwords before anything is kept.

It runs on every message of every resident, so it must stay linear in the length of the text: every
regex here is deterministic (no two ways to match the same characters, no nested optional spaces),
and the Python loops only visit matches. tests/kernel/test_safety_spellings.py holds it to that
(10,000 crafted messages).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import islice

from kernel.text import fold, prepare

REDACTED = {"id_number": "[id]", "phone_number": "[phone]", "otp_code": "[otp]", "secret": "[secret]"}

# Digits grouped by one separator ("0912 345 678", "001.203.004.567", "(091) 234 5674"). A group always
# starts with a separator, so there is one way to read a run: linear. Letters may touch it on either side
# ("cccd001203004568", "OTP482914"): they become the context, not a boundary.
# It starts with a digit so the engine skips ahead in C; a "+" or "(" just before is taken in by screen().
# Possessive: a run is read once, never re-read from inside.
_NUMBER = re.compile(r"\d(?=[\d .\-)]{3})\d*(?:(?:[ .\-]|\) ?)\d+)*+")  # four characters at least: "1" alone never
_NOT_DIGIT = re.compile(r"\D")
# Forty characters and more of nothing but digits and separators: no phone or ID is that long, and reading
# such a run group by group is the slow part; it is private digits either way.
_LONG_RUN = re.compile(r"(?<![\d .\-()])[\d(][\d .\-()]{39,}")
_OTP_CONTEXT = re.compile(
    r"\b(otp|ma|code|ma xac (nhan|thuc)|ma kich hoat|passcode|pin|mat khau|mk|password|verification)\b")
_MONEY_AFTER = re.compile(r"\s?(d|dong|vnd|k|nghin|ngan|trieu|tr)\b")
_A = "[aàáảãạăằắẳẵặâầấẩẫậ]"
# Words after which the next "secret-looking" word is a password, in any case, with or without diacritics
# (matched on the text itself, so positions need no mapping and no whole-text folding is paid).
_KEYWORD = re.compile(rf"[mMpP](?i:(?<=m){_A}t ?kh{_A}[uụủũúù]|(?<=m){_A}t m{_A}|(?<=m)k|(?<=p)ass(?:word|code|wd)?"
                      rf"|(?<=p)wd?|(?<=m){_A} pin|(?<=p)in)(?!\w)")
# Words of a message: ':' and '=' separate too ("mk:abc123", "pass=Xyz@99").
_TOKEN = re.compile(r"[^\s:=]+")
# A message is examined match by match up to this many password keywords or numbers; past it (no resident
# writes that) it is redacted wholesale by one regex, so crafted input costs no more than plain input.
_MAX_KEYWORDS = 24
_MAX_NUMBERS = 32
# Any word holding a digit or an inner symbol, starting at a word's start (one start per word: linear).
_ANY_SECRET = re.compile(r"(?<![^\s:=])[^\s:=]*(?:\d|[@#$%^&*!_~+][^\s:=])[^\s:=]*")
_WINDOW = 6  # a password is named within a few words of its keyword ("mật khẩu vneid của tôi là X")
_MARKERS = {"la", "is", "la:", "=", ":", "was", "moi"}
_TRAILING = ".,?;)\"'”’…"
# A digit anywhere or a symbol before the last character: "Lan@1960x", "hoa12345".
_SECRETISH = re.compile(r"\d|[@#$%^&*!_~+].")
# Words that look mixed-case or long but are names of apps and banks, or ordinary words after "là".
_NOT_SECRETS = {
    "vneid", "ihanoi", "zalopay", "zalo", "momo", "vietinbank", "vietcombank", "agribank", "shopeepay",
    "viettelpay", "viettel", "vnpt", "payoo", "iphone", "android", "facebook", "youtube", "techcombank",
    "mbbank", "vpbank", "tpbank", "sacombank", "bidv", "etax", "vssid", "chplay", "appstore", "wrong",
    "forgotten", "incorrect", "correct", "expired", "locked", "changed", "required", "invalid", "khong",
    "duoc", "nhieu", "matkhau", "password", "passcode", "because", "sai roi", "blocked", "needed",
    "should", "really", "enough", "strong", "different", "something",
}
# Spaces that look like spaces: a non-breaking space must not hide a phone number from the filter.
_ODD_SPACE = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile("[\u200b\u200c\u2060\ufeff\u00ad]")


@dataclass(frozen=True)
class Screened:
    """A message after the safety filter: the redacted text and what was found in it."""

    text: str
    found: frozenset[str]

    @property
    def shared_secret(self) -> bool:
        """The resident typed a one-time code or a password: warn them never to share it."""
        return bool(self.found & {"otp_code", "secret"})


def _digits(raw: str) -> str:
    digits = _NOT_DIGIT.sub("", raw)
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(c)) for c in digits)


def _classify(digits: str, raw: str, text: str, start: int, end: int) -> str | None:
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
    if n < 4 or n > 8 or not raw.lstrip("+(").replace(" ", "").isdecimal():
        return None  # amounts ("200.000"), dates ("12-10-2025"), short numbers
    # Only short codes need the words around them, folded here (a few characters, not the whole text).
    if _MONEY_AFTER.match(fold(text[end:end + 8])):
        return None  # "200 000 đồng"
    if _OTP_CONTEXT.search(fold(text[max(0, start - 30):start])):
        return "otp_code"
    # A bare six-digit number is how OTPs and passcodes look ("482913", "48 29 15").
    return "otp_code" if n == 6 else None


def _looks_secret(token: str, after_marker: bool) -> bool:
    word = token.rstrip(_TRAILING)
    if len(word) < 4 or word.startswith("["):
        return False
    mixed_case = len(word) >= 6 and word[1:] != word[1:].lower() and word != word.upper()  # "MatKhau"
    # No digit, no inner symbol, not mixed case: a plain word after "là"/"is" is a password only if it
    # is not Vietnamese (no diacritics) and long enough ("password is hoalan").
    plain_after_marker = after_marker and len(word) >= 6 and word.isascii() and word.isalpha()
    if _SECRETISH.search(word) is None and not mixed_case and not plain_after_marker:
        return False
    return len(word) > 32 or fold(word) not in _NOT_SECRETS


def _secret_spans(text: str) -> list[tuple[int, int]] | None:
    """Where the passwords are: the first secret-looking word within a few words after a keyword.
    None when the message names a keyword so often that looking word by word would cost too much."""
    keys = list(islice(_KEYWORD.finditer(text), _MAX_KEYWORDS + 1))
    if not keys:
        return []
    if len(keys) > _MAX_KEYWORDS:
        return None
    keys = [k for k in keys if not text[k.start() - 1:k.start()].isalnum()]
    spans: list[tuple[int, int]] = []
    covered = 0
    for key in keys:
        if key.start() < covered:
            continue
        after_marker = text[key.end():key.end() + 1] in (":", "=")
        for count, tok in enumerate(_TOKEN.finditer(text, key.end())):
            if count >= _WINDOW:
                break
            word = tok.group(0)
            if _looks_secret(word, after_marker):
                end = tok.start() + len(word.rstrip(_TRAILING))
                spans.append((tok.start(), end))
                covered = end
                break
            after_marker = (after_marker or (len(word) <= 4 and fold(word) in _MARKERS)
                            or text[tok.end():tok.end() + 1] in (":", "="))
    return spans


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    last = 0
    for start, end, mark in spans:
        out.append(text[last:start])
        out.append(mark)
        last = end
    out.append(text[last:])
    return "".join(out)


def normalise(text: str) -> str:
    """NFC, look-alike spaces as plain spaces and invisible characters dropped, so nothing hides."""
    if text.isascii():
        return text
    text = prepare(text).replace("\u00a0", " ")
    if _ODD_SPACE.search(text):
        text = _ODD_SPACE.sub(" ", text)
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def screen(text: str) -> Screened:
    """Redact private numbers and secrets from what a resident (or a team member) typed."""
    text = normalise(text)
    found: set[str] = set()
    secrets = _secret_spans(text)
    if secrets is None:  # crafted or garbled: every word that could be a password goes
        text, count = _ANY_SECRET.subn(REDACTED["secret"], text)
        secrets = []
        if count:
            found.add("secret")
    if secrets:
        found.add("secret")
        text = _replace(text, [(s, e, REDACTED["secret"]) for s, e in secrets])
    if _LONG_RUN.search(text):
        text = _LONG_RUN.sub(REDACTED["id_number"], text)
        found.add("id_number")
    matches = list(islice(_NUMBER.finditer(text), _MAX_NUMBERS + 1))
    if len(matches) > _MAX_NUMBERS:  # the same: every number goes
        text = _NUMBER.sub(REDACTED["id_number"], text)
        return Screened(text, frozenset({*found, "id_number"}))
    numbers: list[tuple[int, int, str]] = []
    for m in matches:
        if m.end() - m.start() < 4:
            continue
        start, end = m.start(), m.end()
        start -= text[start - 1:start] == "("
        start -= text[start - 1:start] == "+"
        raw = text[start:end]
        kind = _classify(_digits(raw), raw, text, start, end)
        if kind is not None:
            found.add(kind)
            numbers.append((start, end, REDACTED[kind]))
    return Screened(_replace(text, numbers), frozenset(found))
