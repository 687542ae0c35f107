"""Short answers beside the guides: a knowledge-base fact, or where an old (pre-July-2025) commune went.

Asked outside a guide, the answer offers the guides it belongs to; asked inside one, it offers to go on with
the same step ("Tiếp tục Bước N/M"): the guide's place never changes.
"""

from __future__ import annotations

from dataclasses import replace

from dialogues import old_address
from dialogues.flows import Flow
from dialogues.knowledge import Entry
from dialogues.terms import asked_term
from dialogues.turn import CANCEL, MENU, RESUME, Turn
from kernel.messages import Button
from kernel.text import fold_words
from nlu.intents import FAQ_PREFIX
from nlu.types import Parse

_FORMER = (" cu ", " sap nhap ", " truoc day ", " ngay truoc ", " former ", " old ", " formerly ")
# What the resident is asked after an old-address question that names no unit we know.
AWAITING_OLD_ADDRESS = "old_address"


def resume_rows(t: Turn, flow: Flow | None) -> tuple[tuple[Button, ...], ...]:
    """"Tiếp tục Bước N/M" (and "Thôi") while a guide is open; nothing otherwise."""
    if flow is None or t.state.flow != flow.id or t.state.step is None:
        return ()
    n = flow.index(t.state.step) + 1
    return ((t.button(t._("Tiếp tục Bước {n}/{total}", n=n, total=len(flow.steps)), RESUME),
             t.button("Thôi", CANCEL)),)


def answer(t: Turn, flow: Flow | None, text: str, related: tuple[str, ...] = ()) -> None:
    """Say a short answer with a way on: back to the open guide's step, else the related guides and the menu."""
    rows = resume_rows(t, flow)
    if not rows:
        guides = [t.ctx.library.flows[f] for f in related if f in t.ctx.library.flows][:2]
        rows = (*((t.button(g.title, f"flow:{g.id}"),) for g in guides), (t.button("Xem danh mục", MENU),))
    t.say(text, *rows)


def knowledge(t: Turn, flow: Flow | None, entry: Entry) -> None:
    """A fact of the knowledge base, in one to three sentences (an unconfirmed one says so in its text)."""
    answer(t, flow, t._(entry.answer), entry.flows)


# A question about the task may be phrased loosely: a fact of the open guide counts from this confidence.
ABOUT_THE_GUIDE = 0.2


def about_the_guide(t: Turn, flow: Flow | None, parse: Parse, unsure: bool) -> Parse | None:
    """In a guide, the reading of a loose fact question that fits the task: the open guide's own fact among
    the likely ones, when the best reading is unsure or a fact of some other task; else None."""
    if flow is None or not (unsure or _fact_of_another_task(t, flow, parse.intent)):
        return None
    ranking = parse.ranking or ((parse.intent, parse.confidence),)
    for name, confidence in ranking[:3]:
        entry = t.ctx.library.knowledge.get(name) if name.startswith(FAQ_PREFIX) else None
        if entry is not None and flow.id in entry.flows and confidence >= ABOUT_THE_GUIDE:
            return replace(parse, intent=name, confidence=confidence)
    return None


def asked_kind(t: Turn, flow: Flow, parse: Parse) -> str | None:
    """In a guide, a reading as another task's fee or duration when the message does not name that task
    ("phí bao nhiêu?" in the residence guide read as the judicial record's fee): the kind of fact asked,
    which is about the open guide. None when the message names the other task ("phí lý lịch tư pháp?")."""
    if not _fact_of_another_task(t, flow, parse.intent):
        return None
    other = t.ctx.library.knowledge.get(parse.intent)
    if other is None or other.kind is None:
        return None
    titles = [fold_words(t.ctx.library.flows[f].title) for f in other.flows if f in t.ctx.library.flows]
    named = (fold_words(e.value) for e in parse.entities if e.entity == "service")
    return None if any(name in title for name in named for title in titles) else other.kind


def not_known(t: Turn, flow: Flow, kind: str) -> None:
    """The open guide has no confirmed fact of that kind: say so and where to ask, never another task's figure."""
    if flow.topic == "payments":  # a bank's or wallet's charge or delay: only the bank knows it
        said = (t._("Tôi chưa có mức phí đã được xác nhận cho việc “{title}”. Phí do ngân hàng hoặc ví điện tử của "
                    "bạn quy định: bạn xem trong ứng dụng hoặc gọi tổng đài của họ.", title=t._(flow.title))
                if kind == "fee" else
                t._("Tôi chưa có thời gian đã được xác nhận cho việc “{title}”. Bạn hỏi tổng đài ngân hàng hoặc ví "
                    "điện tử của bạn.", title=t._(flow.title)))
    elif kind == "fee":
        said = t._("Tôi chưa có mức phí đã được xác nhận cho việc “{title}”. Bạn hỏi Điểm phục vụ hành chính "
                   "công của xã hoặc tổ công nghệ số của thôn.", title=t._(flow.title))
    else:
        said = t._("Tôi chưa có thời gian giải quyết đã được xác nhận cho việc “{title}”. Bạn hỏi Điểm phục vụ "
                   "hành chính công của xã hoặc tổ công nghệ số của thôn.", title=t._(flow.title))
    answer(t, flow, said)


def _fact_of_another_task(t: Turn, flow: Flow, intent: str) -> bool:
    entry = t.ctx.library.knowledge.get(intent) if intent.startswith(FAQ_PREFIX) else None
    return entry is not None and flow.id not in entry.flows


def names_old_unit(text: str) -> bool:
    """The message names a former commune or ward as former ("... cũ", "trước sáp nhập", "old ...")."""
    words = f" {old_address.fold(text)} "
    unit = old_address.lookup(text) if any(w in words for w in _FORMER) else None
    if unit is None:
        return False
    name = old_address.fold(unit.old)
    bare = name.split(" ", 1)[1] if name.startswith(("xa ", "phuong ")) else name.removeprefix("thi tran ")
    return f" {bare} cu " in words or any(f" {p} {bare} " in words for p in ("xa", "phuong", "old", "former"))


def old_unit(t: Turn, flow: Flow | None, parse: Parse) -> None:
    """Where the old commune or ward named in the message went; asks for the name when none is recognised."""
    if say_new_unit(t, flow, parse.text):
        return
    t.state = replace(t.state, awaiting=AWAITING_OLD_ADDRESS)
    t.say(t._("Bạn cho tôi biết tên xã, phường cũ (và huyện cũ nếu nhớ), ví dụ “xã Hòa Lâm, huyện Ứng Hòa”?"),
          *resume_rows(t, flow))


def say_new_unit(t: Turn, flow: Flow | None, text: str) -> bool:
    """Answer with the new unit of the old one named in `text`; False when the text names none."""
    unit = old_address.lookup(text)
    if unit is None:
        return False
    t.state = replace(t.state, awaiting=None)
    said = t._("{old} ({district} cũ) nay thuộc {new}, {province}.", old=unit.old, district=unit.old_district,
               new=unit.new, province=unit.province)
    if unit.to_confirm:
        said += " " + t._("Đây là theo dữ liệu công khai về đợt sắp xếp đơn vị hành chính, cần đối chiếu lại "
                          "với Nghị quyết hoặc hỏi Điểm phục vụ hành chính công của xã.")
    answer(t, flow, said)
    return True


def term(t: Turn, flow: Flow | None, parse: Parse) -> bool:
    """"OTP là gì?": the glossary's explanation of the word, the open guide kept; False if no term is asked."""
    asked = asked_term(parse.text, t.ctx.library.glossary)
    if asked is None:
        return False
    gloss = t._(asked.gloss)
    answer(t, flow, gloss[:1].upper() + gloss[1:])
    return True
