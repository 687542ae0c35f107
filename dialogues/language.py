"""Which language a message is written in (issue 16): Vietnamese (with or without diacritics, teencode) or
English, or None when it is too short or too mixed to tell. Small and predictable on purpose: words typed
with Vietnamese diacritics, and two short lists of words that belong to one language only."""

from __future__ import annotations

import re

from kernel.text import fold, prepare

VI, EN = "vi", "en"
# Fewer words than this never switch the language ("ok", "hello", "Đại Cường", a number).
MIN_WORDS = 3

# Words that are English and not Vietnamese typed without diacritics ("do", "to", "me", "no", "an", "on",
# "can", "the" are both, so they are in neither list; "so" and "may" are "số" and "máy" typed plainly).
_ENGLISH = """
i i'm im is are was were am be been being my mine you your yours he she him her his it its we us our they them
their what where when why who whom which how this that these those there here and or but not with without
from for of at by about into onto after before if then than very too also just only please thanks thank
hello hey hi good morning afternoon evening night sorry yes yeah okay need want get got have has had make
made know think tell told ask asked say said says saying call called calling text texted send sent sending
give gave read write wrote pay paid paying help helped try tried work works working does did doesn didn don
isn wasn won would should could must will shall might way lost lose money bank account accounts phone
number code password pin app apps card cards bill bills electricity water internet online register
registration install download update level activate activation forgot forget locked blocked wrong mistake
someone somebody stranger man woman police scam scammed fake real genuine message messages link links
certificate record criminal birth baby child children son daughter wife husband mother father mom dad
family guest stay staying week month year today tomorrow yesterday old new commune village address office
hotline speak english language vietnamese understand mean should where's what's how's it's don't can't
doesn't isn't i've i'll let show find open opened click clicked empty transfer transferred sent see later
nice day done that's right stop guide cancel back main face verification keeps keep failing failed fails
dossier public service services portal subscribe unsubscribe announcements announcement bye goodbye yep
again still anything something nothing everything any some all many much more most other another
"""

# Vietnamese words as typed without diacritics, and teencode, that are not English words.
_VIETNAMESE = """
toi tui minh bac chau em anh chi ong ba co chu cua khong ko kg hok k duoc dc dk lam lm sao gi j nao
cho voi vs roi r chua nhu nay day kia va thi ma la nhe nha ak ah oi ui vay giup gium dum
muon biet phai bi mat nhap ung dung quen cai dang ky tai khoan tien chuyen nhan tin goi dien thoai xa thon
huong dan giay mau hay gio bao nhieu ngay thang nam moi cu xin chao cam hoi nguoi duoc ho khau
cuoc dinh danh muc hai mot ba bon lua dao nham ngan hang ma otp kich hoat thanh toan tra nop phi
cong uy ban lich khai sinh tam tru thuong tru ly lich tu phap dich vu dvc hdan ntn bh bjo mik mh
tk ck stk ad tong so may con ban me bo
"""
ENGLISH = frozenset(_ENGLISH.split())
VIETNAMESE = frozenset(_VIETNAMESE.split()) - ENGLISH

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect(text: str) -> str | None:
    """"vi", "en" or None: the language the message is clearly written in."""
    typed = _WORD.findall(prepare(text))
    if len(typed) < MIN_WORDS:
        return None
    words = [w.lower() for w in typed]
    # Words typed with Vietnamese diacritics ("tôi", "được"); a capitalised one inside the message is a
    # name ("I live in Đại Cường"), not a sign of the language.
    marked = sum(1 for i, w in enumerate(typed)
                 if not w.isascii() and fold(w).isascii() and (i == 0 or not w[0].isupper()))
    english = sum(1 for w in words if w in ENGLISH)
    vietnamese = sum(1 for w in words if w.isascii() and w in VIETNAMESE)
    if marked >= 2 or (marked == 1 and english < 3):
        return VI
    if english >= 2 and english > 2 * vietnamese:
        return EN
    if vietnamese >= 2 and vietnamese > english:
        return VI
    return None
