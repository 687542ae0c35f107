"""One turn of the dialogue: the events, the context it may read, and the reply builder shared by the modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dialogues.flows import Library
from dialogues.state import DialogueState
from kernel import effects as fx
from kernel.commune import Commune
from kernel.i18n import Catalogs
from kernel.messages import Button, Reply
from nlu.types import Parse

# Button payloads every guide understands.
STEP_DONE, STEP_STUCK, HUMAN, CANCEL, MENU, RESUME = "done", "stuck", "human", "cancel", "menu", "resume"
RETRY = "retry"  # "Thử tiếp" after the troubleshooting ladder: the step again
HUMAN_STUCK = "human:stuck"  # "Gặp người hỗ trợ" chosen after the ladder: a case marked as stuck


@dataclass(frozen=True)
class Said:
    """The resident typed something; the NLU's reading of it."""

    parse: Parse


@dataclass(frozen=True)
class Pressed:
    """The resident pressed a button."""

    payload: str


Event = Said | Pressed


@dataclass(frozen=True)
class Resident:
    """What the engine may know about the resident (nothing more is stored)."""

    language: str
    village: str | None = None
    subscribed: bool = False


@dataclass(frozen=True)
class Context:
    library: Library
    catalogs: Catalogs
    commune: Commune
    resident: Resident
    threshold: float = 0.45
    margin: float = 0.08
    max_misunderstood: int = 2
    # The commune's local date, given by the caller so that advance() stays pure (schedules hide past days).
    today: date | None = None


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    effects: tuple[fx.Effect, ...]
    state: DialogueState
    # A typed message the assistant could not answer: "out_of_scope", or "low_confidence" (it asked which of
    # two topics was meant, or said it did not understand). The message log keeps this in place of the intent,
    # so the commune's dashboard can list what to add answers or training examples for.
    unanswered: str | None = None


@dataclass
class Turn:
    """The replies, effects and state being built during one call of advance()."""

    ctx: Context
    state: DialogueState
    replies: list[Reply] = field(default_factory=list)
    effects: list[fx.Effect] = field(default_factory=list)
    unanswered: str | None = None

    def __post_init__(self) -> None:
        self._ = self.ctx.catalogs.get(self.ctx.resident.language)

    @property
    def language(self) -> str:
        return self._.language

    def say(self, text: str, *rows: tuple[Button, ...]) -> None:
        self.replies.append(Reply(text, tuple(r for r in rows if r)))

    def button(self, label: str, payload: str) -> Button:
        return Button(self._(label), payload)

    def outcome(self) -> Outcome:
        return Outcome(tuple(self.replies), tuple(self.effects), self.state, self.unanswered)


def N_(msgid: str) -> str:
    """Mark a string for the catalogs; it is translated where it is shown."""
    return msgid


# Labels of the intents the menu and the clarifying question offer when they are not guides.
INTENT_LABELS = {
    "greet": N_("Chào hỏi"), "help": N_("Xem danh mục"), "human_handoff": N_("Gặp người hỗ trợ"),
    "stuck": N_("Tôi đang bị lỗi"), "cancel": N_("Dừng lại"), "change_language": N_("Đổi ngôn ngữ"),
    "subscribe": N_("Nhận thông báo của xã"), "unsubscribe": N_("Huỷ nhận thông báo"),
    "contact_support_team": N_("Liên hệ tổ công nghệ số"), "mobile_service_schedule": N_("Lịch dịch vụ công lưu động"),
    "digital_skills_class": N_("Lớp kỹ năng số"), "bot_challenge": N_("Bạn là ai?"), "thank": N_("Cảm ơn"),
    "goodbye": N_("Tạm biệt"), "affirm": N_("Đồng ý"), "deny": N_("Không đồng ý"), "report_scam": N_("Báo lừa đảo"),
    "my_data": N_("Xem thông tin của tôi"), "resume_guide": N_("Làm tiếp hướng dẫn đang dở"),
    "old_address": N_("Tên xã, thôn mới sau sáp nhập"),
}

# Menu entries that are a button payload rather than an intent.
MENU_PAYLOADS = {"my_data": "mydata"}


def menu_rows(t: Turn) -> tuple[tuple[Button, ...], ...]:
    topics = t.ctx.library.topics
    buttons = [t.button(tp.title, f"topic:{tp.id}") for tp in topics]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))


def menu(t: Turn) -> None:
    t.say(t._("Bạn cần hướng dẫn về chủ đề nào?"), *menu_rows(t), (t.button("Gặp người hỗ trợ", HUMAN),))


def topic(t: Turn, topic_id: str) -> None:
    tp = next(tp for tp in t.ctx.library.topics if tp.id == topic_id)
    rows = [(t.button(t.ctx.library.flows[f].title, f"flow:{f}"),) for f in tp.flows]
    rows += [(t.button(INTENT_LABELS.get(a, a), MENU_PAYLOADS.get(a, f"intent:{a}")),) for a in tp.answers]
    t.say(t._(tp.title) + ": " + t._("chọn việc bạn cần làm."), *rows, (t.button("Quay lại danh mục", MENU),))


def intent_label(t: Turn, name: str) -> str:
    flow = t.ctx.library.get(name)
    if flow is not None:
        return flow.title
    entry = t.ctx.library.knowledge.get(name) if name.startswith("faq_") else None
    if entry is not None:  # a fact: the start of its answer says what it is about
        answer = t._(entry.answer)
        return answer if len(answer) <= LABEL_CHARS else answer[:LABEL_CHARS].rsplit(" ", 1)[0] + "…"
    return INTENT_LABELS.get(name, name)


# A knowledge answer offered as a button shows this many characters of its start.
LABEL_CHARS = 60


def ask_village(t: Turn) -> None:
    villages = t.ctx.commune.villages
    rows = [tuple(t.button(v.name, f"village:{v.code}") for v in villages[i:i + 2])
            for i in range(0, len(villages), 2)]
    t.say(t._("Bạn ở thôn nào? Chọn bên dưới hoặc nhắn tên thôn."), *rows)


def choose_topic(t: Turn) -> None:
    """A yes/no or "done" with nothing going on: ask what the resident needs."""
    t.say(t._("Bạn cần tôi giúp việc gì? Hãy chọn một chủ đề."), *menu_rows(t))


def stuck_no_flow(t: Turn) -> None:
    t.say(t._("Bạn đang gặp khó ở việc gì? Hãy kể ngắn gọn, hoặc chọn chủ đề bên dưới."),
          *menu_rows(t), (t.button("Gặp người hỗ trợ", HUMAN),))
