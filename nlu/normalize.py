"""Text normalisation: how a message is folded before the model and the entity matchers see it.

Residents type with or without diacritics, in upper or lower case, with repeated letters and
teencode. `fold` (kernel/text.py) maps every character to exactly one character (so entity spans found in the folded
text are spans of the original), and `normalize` then rewrites teencode and placeholders into the
words a classifier can share between spellings.
"""

from __future__ import annotations

import re
import unicodedata

from kernel.text import fold, prepare

# Teencode and common abbreviations, on folded tokens. Only unambiguous ones: "mk" can be "mình" or
# "mật khẩu", so it is left to the character n-grams.
TEENCODE: dict[str, str] = {
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "hok": "khong", "hong": "khong",
    "hem": "khong", "khg": "khong", "kp": "khong phai", "dc": "duoc", "dk": "duoc", "j": "gi", "ji": "gi",
    "ntn": "nhu the nao", "bh": "bao gio", "bjo": "bao gio", "mik": "minh", "mh": "minh", "vs": "voi",
    "ak": "a", "ah": "a", "r": "roi", "rui": "roi", "ui": "oi", "cx": "cung", "cg": "cung", "ns": "noi",
    "ng": "nguoi", "ngta": "nguoi ta", "sdt": "so dien thoai", "dt": "dien thoai", "tk": "tai khoan",
    "mn": "moi nguoi", "nha": "nhe", "nhoa": "nhe", "oke": "ok", "okie": "ok", "okela": "ok", "uk": "u",
    "uh": "u", "um": "u", "uhm": "u", "thanks": "thank", "thx": "thank", "tks": "thank", "ty": "thank",
    "camon": "cam on", "cmon": "cam on", "hic": "huhu", "hix": "huhu", "pls": "please", "plz": "please",
    "hd": "huong dan", "hdan": "huong dan", "cccd": "can cuoc", "cmnd": "can cuoc", "ubnd": "uy ban",
    "app": "ung dung", "ud": "ung dung", "dky": "dang ky", "dki": "dang ky", "dangky": "dang ky",
    "gium": "giup", "jum": "giup", "dum": "giup", "wa": "qua", "qa": "qua", "ik": "di", "nx": "nua",
    "lm": "lam", "bik": "biet", "bit": "biet", "trc": "truoc", "vn": "viet nam", "sms": "tin nhan",
    "tn": "tin nhan",
}

PLACEHOLDERS = {"[phone]": " sodienthoai ", "[id]": " socancuoc ", "[otp]": " mamotlan ", "[secret]": " mabimat "}
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_WORD_RE = re.compile(r"[^\W\d_]+")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")
MAX_CHARS = 1000  # longer messages are cut: the request is almost always near the start


def normalize(text: str) -> str:
    """The folded, teencode-expanded words a classifier sees."""
    # Invisible format characters (zero-width joiners, direction marks) join what they sit between.
    visible = "".join(ch for ch in prepare(text)[:MAX_CHARS] if unicodedata.category(ch) != "Cf")
    folded = _PLACEHOLDER_RE.sub(lambda m: PLACEHOLDERS[m.group(0)], fold(visible))
    folded = _REPEAT_RE.sub(r"\1\1", folded)
    words = []
    for chunk in folded.split():
        if not chunk.isascii():
            continue  # a word of another script (or Latin look-alikes): nothing the model knows
        words += [TEENCODE.get(tok, tok) for tok in _TOKEN_RE.findall(chunk)]
    # Where the resident did type diacritics they tell words apart ("dừng" stop, "đúng" right, "dùng"
    # use all fold to "dung"): such words are added once more, marked, as they were written.
    words += ["~" + w for w in _WORD_RE.findall(visible.lower()) if not w.isascii() and fold(w).isascii()]
    return " ".join(words)
