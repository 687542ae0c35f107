"""A question about a word of the glossary ("OTP là gì?", "what does passcode mean?"): its short explanation."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dialogues.content import Term
from kernel.text import fold_words

# The asked word is what stands before "là gì / nghĩa là gì" or after "what is / what does ... mean".
_VI = re.compile(r"^(?:(?:cho )?(?:hoi|em hoi|chau hoi|bac hoi) )?(?:cai |chu |tu |ma )?(?P<x>.+?) "
                 r"(?:la gi|la cai gi|nghia la gi|co nghia la gi|la gi the|la gi vay|la gi a|la gi ha|la sao)"
                 r"(?: (?:vay|the|a|ha|nhi|ban|em|chau|ad))*$")
_EN = re.compile(r"^(?:what(?: is| s|s| does| do)|meaning of) (?:a |an |the |this |my )?(?P<x>.+?)"
                 r"(?: mean| stand for)?$")
# The asked part may add a few words around the term ("mã OTP", "cái NFC trên máy"), not a whole sentence.
_MAX_EXTRA_WORDS = 3


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", fold_words(text)).split())


def asked_term(text: str, terms: Iterable[Term]) -> Term | None:
    """The glossary term a short "what is X" question asks about, or None."""
    words = _words(text)
    match = _VI.match(words) or _EN.match(words)
    if match is None:
        return None
    asked = match.group("x").split()
    for term in terms:
        for form in (f for forms in term.forms.values() for f in forms):
            key = _words(form).split()
            n = len(key)
            if any(asked[i:i + n] == key for i in range(len(asked) - n + 1)) and len(asked) - n <= _MAX_EXTRA_WORDS:
                return term
    return None
