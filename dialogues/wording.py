"""How a message is put, beyond its intent: a yes/no question ("có phải ... không?") is not an answer, and
"thôi chết, tôi bấm nhầm" is an exclamation about a wrong press, not a request to stop."""

from __future__ import annotations

import re

from kernel.text import fold_words

# Vietnamese yes/no questions: "có (phải|cần|được) ... không", "... được không", "... phải không", "... chưa".
_VI_START = re.compile(r"^(co|liệu|lieu|vay|the|thế) ")
_VI_END = re.compile(r" (khong|ko|k|hong|chua|ha|nhi)( (a|ha|nhi|vay|the|ban|em|chau|ad))?$")
_EN_START = re.compile(r"^(do|does|did|is|are|can|could|should|must|will|would|have|has|am) ")
_MISPRESS = re.compile(r"\b(bam|an|chon|go) nham\b|\bnham nut\b|\bpressed (the )?wrong\b|\bwrong button\b")


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", " ", fold_words(text)).strip()


def yes_no_question(text: str) -> bool:
    """A question expecting yes or no, in its words ("có phải tải ở CH Play không?", "do I need ...?")."""
    words = _words(text)
    if len(words.split()) < 3:
        return False
    return bool(_VI_END.search(words) or _EN_START.match(words) or
                (_VI_START.match(words) and "?" in text))


def asks(text: str) -> bool:
    """Put as a question at all: a yes/no question, or a question mark ("xong rồi?")."""
    return "?" in text or yes_no_question(text)


def mispressed(text: str) -> bool:
    """"tôi bấm nhầm", "ấn nhầm nút", "pressed the wrong button"."""
    return bool(_MISPRESS.search(_words(text)))
